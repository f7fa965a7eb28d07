import type { Command } from 'commander';
import { DateTime } from 'luxon';
import { withReadDb } from '../app/composition-root.js';
import type { EventReport, FailedEventItem } from '../queries/event-log.js';
import { eventReport, failedEvents } from '../queries/event-log.js';
import type { ReadDb } from '../queries/read-db.js';
import type { ViewOptions } from './contacts.js';
import type { Rendered } from './format.js';
import { emit, formatInstant, parseLimit, table, truncate } from './format.js';
import { action, config } from './shared.js';

/** `nurture events failed` (events that could never be applied) and `nurture events show ID`. */

export async function listFailedEventsView(db: ReadDb, o: ViewOptions & { limit?: number | undefined }): Promise<Rendered<FailedEventItem[]>> {
  const data = await failedEvents(db, o.limit ?? 50);
  if (data.length === 0) return { data, text: 'no failed events' };
  const rows = data.map((f) => [String(f.id), formatInstant(new Date(f.receivedAt), o.zone), f.eventId ?? '-', f.field || '-', f.reason, truncate(f.payload, 120)]);
  const text = [...table(['ID', 'RECEIVED', 'EVENT ID', 'FIELD', 'REASON', 'PAYLOAD'], rows, ''), '', `${data.length} failed event(s), newest first`].join('\n');
  return { data, text };
}

export async function showEvent(db: ReadDb, eventId: string, o: ViewOptions): Promise<Rendered<EventReport>> {
  const data = await eventReport(db, eventId);
  const lines = [`Event ${eventId}`];
  const a = data.applied;
  if (a) {
    const field = (label: string, value: string) => lines.push(`  ${label.padEnd(10)}${value}`);
    field('applied', `yes (#${a.seq} in arrival order)`);
    field('type', a.type);
    field('contact', a.contactEmail);
    field('occurred', `${formatInstant(new Date(a.occurredAt), o.zone)}${a.occurredAtDefaulted ? ' (not given by the producer: the time it was received)' : ''}`);
    field('received', formatInstant(new Date(a.receivedAt), o.zone));
    if (a.touch) field('touch', `${a.touch.kind ?? '?'} at step ${a.touch.stepId ?? '?'} of ${a.touch.sequenceId ?? '?'} (${a.touch.id})`);
    lines.push('  data', ...JSON.stringify(a.data, null, 2).split('\n').map((l) => `    ${l}`));
  } else {
    lines.push('  applied   no');
  }
  for (const f of data.failures) {
    lines.push('', `Rejected ${formatInstant(new Date(f.receivedAt), o.zone)} (failed event ${f.id}${f.jobId ? `, job ${f.jobId}` : ''})`);
    if (f.field) lines.push(`  field     ${f.field}`);
    lines.push(`  reason    ${f.reason}`, `  payload   ${f.payload}`);
  }
  return { data, text: lines.join('\n') };
}

export function register(program: Command): void {
  const events = program.command('events').description('inspect events: rejected ones, and any one by id');
  events
    .command('failed')
    .description('events that could not be applied (bad shape, missing contact, too big), newest first')
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'print JSON (with the whole payload)')
    .action(
      action(async (f: { limit?: string; json?: boolean }) => {
        const limit = parseLimit(f.limit, 50);
        emit(await withReadDb(config(), (db) => listFailedEventsView(db, { now: DateTime.now(), limit })), f.json);
      }),
    );
  events
    .command('show')
    .description('one event by the id its producer gave it: as applied, and any rejection')
    .argument('<event-id>', "the producer's event id")
    .option('--json', 'print JSON')
    .action(
      action(async (eventId: string, f: { json?: boolean }) => {
        emit(await withReadDb(config(), (db) => showEvent(db, eventId, { now: DateTime.now() })), f.json);
      }),
    );
}
