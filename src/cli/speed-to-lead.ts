import type { Command } from 'commander';
import { DateTime } from 'luxon';
import { withReadDb } from '../app/composition-root.js';
import type { SpeedToLeadReport } from '../queries/speed-to-lead.js';
import { speedToLeadReport } from '../queries/speed-to-lead.js';
import type { DurationSummary } from '../reports/figures.js';
import { formatInstant, humanDuration, parseInstant, table } from './format.js';
import { action, config, stdout } from './shared.js';

/**
 * `nurture report speed-to-lead`: per rep and per lead, the time from the request to the first
 * call attempt and to the first connected call, and the SLA met / breached (src/queries/speed-to-lead.ts).
 */

/** Leads listed in the text output (all of them with --json). */
const TEXT_LEADS = 20;

function secs(s: number | null): string {
  return s === null ? '-' : humanDuration(s * 1000);
}

function figures(d: DurationSummary): string {
  return d.count === 0 ? '-' : `${secs(d.medianSeconds)} median, ${secs(d.p90Seconds)} p90 (${d.count})`;
}

export function formatSpeedToLead(r: SpeedToLeadReport, zone?: string): string {
  const lines: string[] = [];
  const t = r.total;
  lines.push(`speed to lead${r.since ? ` since ${formatInstant(new Date(r.since), zone)}` : ''}: ${t.leads} lead call(s), SLA met ${t.met}, breached ${t.breached}, pending ${t.pending}`);
  lines.push(`  to first attempt: ${figures(t.toAttempt)}; to first connected call: ${figures(t.toConnected)}`);
  if (r.reps.length > 0) {
    lines.push('', 'per rep:');
    lines.push(...table(['rep', 'leads', 'to attempt', 'to connected', 'met', 'breached', 'pending'], r.reps.map((p) => [p.assignee ?? '(unassigned)', String(p.leads), figures(p.toAttempt), figures(p.toConnected), String(p.met), String(p.breached), String(p.pending)])));
  }
  if (r.leads.length > 0) {
    lines.push('', `latest leads${r.leads.length > TEXT_LEADS ? ` (${TEXT_LEADS} of ${r.leads.length}; --json for all)` : ''}:`);
    lines.push(
      ...table(
        ['task', 'contact', 'rep', 'requested', 'to attempt', 'to connected', 'sla'],
        r.leads.slice(0, TEXT_LEADS).map((l) => [`#${l.taskId}`, l.contact, l.assignee ?? (l.team ? `(team ${l.team})` : '-'), formatInstant(new Date(l.requestedAt), zone), secs(l.toAttemptSeconds), secs(l.toConnectedSeconds), l.sla]),
      ),
    );
  }
  return lines.join('\n');
}

export function register(program: Command): void {
  const report = program.commands.find((c) => c.name() === 'report') ?? program.command('report').description('funnel, time to lead, sequence and speed-to-lead reports');
  report
    .command('speed-to-lead')
    .description('per rep and lead: request to first call attempt and to first connected call, SLA met and breached')
    .option('--since <when>', 'ISO date/time, today, yesterday, or a duration back from now like "7 days"')
    .option('--assignee <email>', "only this rep's leads")
    .option('--json', 'print JSON')
    .action(
      action(async (f: { since?: string; assignee?: string; json?: boolean }) => {
        const now = DateTime.now();
        const since = f.since === undefined ? undefined : parseInstant('--since', f.since, now, 'back');
        const r = await withReadDb(config(), (db) => speedToLeadReport(db, { since, assignee: f.assignee, now: now.toJSDate() }));
        if (f.json) stdout.json(r);
        else stdout.line(formatSpeedToLead(r));
      }),
    );
}
