import type { Command } from 'commander';
import type { Kysely } from 'kysely';
import { DateTime } from 'luxon';
import { failedEventsById, findEvent, listFailedEvents } from '../db/event-repository.js';
import type { Database } from '../db/schema.js';
import { NotFoundError } from '../errors.js';
import type { ViewOptions } from './contacts.js';
import type { Rendered } from './format.js';
import { emit, formatInstant, parseLimit, table, truncate } from './format.js';
import { action, config } from './shared.js';
import { withStore } from './with-store.js';

/** `nurture events failed` (events that could never be applied) and `nurture events show ID`. */

export interface FailedEventItem {
  id: number;
  receivedAt: string;
  eventId: string | null;
  jobId: string | null;
  field: string;
  reason: string;
  /** The raw payload as received (kept up to a few KiB). */
  payload: string;
}

type FailedRow = Awaited<ReturnType<typeof listFailedEvents>>[number];

function failedItem(r: FailedRow): FailedEventItem {
  return { id: r.id, receivedAt: r.received_at.toISOString(), eventId: r.event_id, jobId: r.job_id, field: r.field, reason: r.reason, payload: r.payload };
}

export async function listFailedEventsView(db: Kysely<Database>, o: ViewOptions & { limit?: number | undefined }): Promise<Rendered<FailedEventItem[]>> {
  const data = (await listFailedEvents(db, o.limit ?? 50)).map(failedItem);
  if (data.length === 0) return { data, text: 'no failed events' };
  const rows = data.map((f) => [String(f.id), formatInstant(new Date(f.receivedAt), o.zone), f.eventId ?? '-', f.field || '-', f.reason, truncate(f.payload, 120)]);
  const text = [...table(['ID', 'RECEIVED', 'EVENT ID', 'FIELD', 'REASON', 'PAYLOAD'], rows, ''), '', `${data.length} failed event(s), newest first`].join('\n');
  return { data, text };
}

export interface EventReport {
  eventId: string;
  /** The event as applied, or null if it never was. */
  applied: {
    id: string;
    type: string;
    contactEmail: string;
    occurredAt: string;
    /** The producer gave no occurredAt: `occurredAt` is the time the event was received. */
    occurredAtDefaulted: boolean;
    receivedAt: string;
    seq: string;
    data: Record<string, unknown>;
    touch: { id: string; sequenceId: string | null; stepId: string | null; kind: string | null } | null;
  } | null;
  /** Every time an event with this id was rejected. */
  failures: FailedEventItem[];
}

export async function showEvent(db: Kysely<Database>, eventId: string, o: ViewOptions): Promise<Rendered<EventReport>> {
  const e = await findEvent(db, eventId);
  const failures = (await failedEventsById(db, eventId)).map(failedItem);
  if (!e && failures.length === 0) {
    throw new NotFoundError(`no event with id "${eventId}": it was neither applied nor rejected (rejected events are listed by: nurture events failed)`);
  }
  const data: EventReport = {
    eventId,
    applied: e
      ? {
          id: e.id,
          type: e.type,
          contactEmail: e.email,
          occurredAt: e.occurred_at.toISOString(),
          occurredAtDefaulted: e.occurred_at_defaulted,
          receivedAt: e.received_at.toISOString(),
          seq: String(e.seq),
          data: e.data,
          touch: e.touch_id ? { id: e.touch_id, sequenceId: e.sequence_id, stepId: e.step_id, kind: e.touch_kind } : null,
        }
      : null,
    failures,
  };
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
  for (const f of failures) {
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
        emit(await withStore(config(), (store) => listFailedEventsView(store.db, { now: DateTime.now(), limit })), f.json);
      }),
    );
  events
    .command('show')
    .description('one event by the id its producer gave it: as applied, and any rejection')
    .argument('<event-id>', "the producer's event id")
    .option('--json', 'print JSON')
    .action(
      action(async (eventId: string, f: { json?: boolean }) => {
        emit(await withStore(config(), (store) => showEvent(store.db, eventId, { now: DateTime.now() })), f.json);
      }),
    );
}
