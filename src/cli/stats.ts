import type { Command } from 'commander';
import type { Kysely } from 'kysely';
import { DateTime } from 'luxon';
import { leadsByReason, optInLeadStats } from '../db/contact-repository.js';
import { activeEnrollmentCounts } from '../db/enrollment-repository.js';
import { countFailedEvents } from '../db/event-repository.js';
import type { Database, TaskKind } from '../db/schema.js';
import { openTaskCounts } from '../db/task-repository.js';
import { emailStatusCounts } from '../db/touch-repository.js';
import type { ViewOptions } from './contacts.js';
import type { Rendered } from './format.js';
import { emit, formatInstant, humanDuration, parseInstant } from './format.js';
import { action, config } from './shared.js';
import { withStore } from './with-store.js';

/**
 * `nurture stats`: the numbers everyone asks for. With `--since`, the opt-in figures are about
 * the contacts who opted in since then (conversion and time to lead are of that cohort), leads
 * and reasons about promotions since then, emails about those created since then and failed
 * events about those received since then. Open tasks and active enrollments are always now.
 */

const EMAIL_STATUSES = ['pending', 'sending', 'sent', 'failed', 'cancelled'] as const;
const KINDS: readonly TaskKind[] = ['call', 'postcard', 'letter', 'notice'];

export interface StatsReport {
  since: string | null;
  asOf: string;
  /** Contacts who opted in (since `since`). */
  optedIn: number;
  /** Contacts who are leads (promoted since `since`). */
  leads: number;
  /** Of the opted-in contacts, how many became a lead after opting in, and the share in percent (one decimal). */
  converted: number;
  conversionPercent: number | null;
  /** Time from opt-in to lead over the converted contacts, in seconds. */
  timeToLead: { leads: number; medianSeconds: number | null; p90Seconds: number | null; minSeconds: number | null; maxSeconds: number | null };
  leadsByReason: { reason: string | null; leads: number }[];
  emails: Record<(typeof EMAIL_STATUSES)[number], number> & { inDoubt: number };
  openTasks: Record<TaskKind, number> & { overdue: number };
  activeEnrollments: { sequenceId: string; active: number }[];
  failedEvents: number;
}

export async function computeStats(db: Kysely<Database>, o: ViewOptions & { since?: Date | undefined }): Promise<Rendered<StatsReport>> {
  const since = o.since;
  const cohort = await optInLeadStats(db, since);
  const reasons = await leadsByReason(db, since);
  const emailRows = await emailStatusCounts(db, since);
  const taskRows = await openTaskCounts(db, o.now.toJSDate());
  const enrollments = await activeEnrollmentCounts(db);
  const failedEvents = await countFailedEvents(db, since);

  const emails = { pending: 0, sending: 0, sent: 0, failed: 0, cancelled: 0, inDoubt: 0 };
  for (const r of emailRows) {
    if ((EMAIL_STATUSES as readonly string[]).includes(r.status)) emails[r.status as (typeof EMAIL_STATUSES)[number]] += r.emails;
    emails.inDoubt += r.inDoubt;
  }
  const openTasks = { call: 0, postcard: 0, letter: 0, notice: 0, overdue: 0 };
  for (const r of taskRows) {
    openTasks[r.kind] += r.open;
    openTasks.overdue += r.overdue;
  }
  const data: StatsReport = {
    since: since ? since.toISOString() : null,
    asOf: o.now.toUTC().toISO()!,
    optedIn: cohort.optedIn,
    leads: reasons.reduce((n, r) => n + r.leads, 0),
    converted: cohort.converted,
    conversionPercent: cohort.optedIn === 0 ? null : Math.round((cohort.converted / cohort.optedIn) * 1000) / 10,
    timeToLead: {
      leads: cohort.converted,
      medianSeconds: cohort.medianSeconds,
      p90Seconds: cohort.p90Seconds,
      minSeconds: cohort.minSeconds,
      maxSeconds: cohort.maxSeconds,
    },
    leadsByReason: reasons,
    emails,
    openTasks,
    activeEnrollments: enrollments,
    failedEvents,
  };
  return { data, text: statsText(data, o) };
}

function statsText(s: StatsReport, o: ViewOptions): string {
  const lines = [`Nurture ${s.since ? `since ${formatInstant(new Date(s.since), o.zone)}` : 'all time'}, as of ${formatInstant(o.now.toJSDate(), o.zone)}`, ''];
  const row = (label: string, value: string) => lines.push(`${label.padEnd(27)}${value}`);
  const dur = (sec: number | null) => (sec === null ? '-' : humanDuration(sec * 1000));
  row('Contacts opted in', String(s.optedIn));
  row('Leads', String(s.leads));
  row(
    'Opt-in → lead',
    s.conversionPercent === null ? '- (no opt-ins)' : `${s.conversionPercent.toFixed(1)}% (${s.converted} of ${s.optedIn} opted-in contacts became leads)`,
  );
  const t = s.timeToLead;
  row(
    'Time from opt-in to lead',
    t.leads === 0
      ? '- (no converted contacts yet)'
      : `median ${dur(t.medianSeconds)}, p90 ${dur(t.p90Seconds)}, min ${dur(t.minSeconds)}, max ${dur(t.maxSeconds)} (${t.leads} lead${t.leads === 1 ? '' : 's'})`,
  );
  lines.push('', 'Leads by promotion reason');
  if (s.leadsByReason.length === 0) lines.push('  none');
  const width = Math.max(0, ...s.leadsByReason.map((r) => (r.reason ?? '(none)').length));
  for (const r of s.leadsByReason) lines.push(`  ${(r.reason ?? '(none)').padEnd(width)}  ${r.leads}`);
  lines.push('');
  const e = s.emails;
  row('Emails', `${EMAIL_STATUSES.map((k) => `${k} ${e[k]}`).join(', ')}; ${e.inDoubt} in doubt`);
  row('Open tasks', `${KINDS.map((k) => `${k} ${s.openTasks[k]}`).join(', ')}; ${s.openTasks.overdue} overdue`);
  row('Active enrollments', s.activeEnrollments.length ? s.activeEnrollments.map((a) => `${a.sequenceId} ${a.active}`).join(', ') : 'none');
  row('Failed events', String(s.failedEvents));
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('stats')
    .description('opt-ins, leads, conversion and time to lead, emails, tasks, enrollments, failed events')
    .option('--since <when>', 'ISO date/time, today, yesterday, or a duration back from now like "30 days"')
    .option('--json', 'print JSON')
    .action(
      action(async (f: { since?: string; json?: boolean }) => {
        const now = DateTime.now();
        const since = f.since === undefined ? undefined : parseInstant('--since', f.since, now, 'back');
        emit(await withStore(config(), (store) => computeStats(store.db, { now, since })), f.json);
      }),
    );
}
