import type { Command } from 'commander';
import { DateTime } from 'luxon';
import { withReadDb } from '../app/composition-root.js';
import type { ReadDb } from '../queries/read-db.js';
import type { StatsReport } from '../queries/stats.js';
import { EMAIL_STATUSES, TASK_KINDS_SHOWN, stats } from '../queries/stats.js';
import type { ViewOptions } from './contacts.js';
import type { Rendered } from './format.js';
import { emit, formatInstant, humanDuration, parseInstant, relativeTime } from './format.js';
import { action, config } from './shared.js';

/** `nurture stats`: the read model in src/queries/stats.ts, as text or JSON. */

export async function computeStats(db: ReadDb, o: ViewOptions & { since?: Date | undefined }): Promise<Rendered<StatsReport>> {
  const data = await stats(db, o);
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
  row('Open tasks', `${TASK_KINDS_SHOWN.map((k) => `${k} ${s.openTasks[k]}`).join(', ')}; ${s.openTasks.overdue} overdue`);
  row('Active enrollments', s.activeEnrollments.length ? s.activeEnrollments.map((a) => `${a.sequenceId} ${a.active}`).join(', ') : 'none');
  const m = s.mail;
  row(
    'Mail server',
    m.state === 'unknown'
      ? 'not checked yet (no engine has run)'
      : `${m.state === 'down' ? 'DOWN' : 'up'} since ${formatInstant(new Date(m.since!), o.zone)}, last confirmed ${relativeTime(new Date(m.checkedAt!), o.now)}${m.detail ? ` (${m.detail})` : ''}`,
  );
  row('Failed events', String(s.failedEvents));
  row(
    'Received, not yet applied',
    s.intake.waiting === 0 ? '0' : `${s.intake.waiting} event(s) in the intake, the oldest received ${relativeTime(new Date(s.intake.oldestAt!), o.now)}`,
  );
  row(
    'Stuck',
    s.stuck.enrollments + s.stuck.sends === 0
      ? 'none'
      : `${s.stuck.enrollments} quarantined wake-up(s), ${s.stuck.sends} email(s) that gave up (nurture enrollments stuck)`,
  );
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
        emit(await withReadDb(config(), (db) => computeStats(db, { now, since })), f.json);
      }),
    );
}
