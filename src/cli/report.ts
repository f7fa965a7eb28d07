import type { Command } from 'commander';
import { DateTime } from 'luxon';
import { withReadDb } from '../app/composition-root.js';
import { InputError } from '../errors.js';
import { zoneProblem } from '../sequences/zones.js';
import type { FunnelReport } from '../queries/reports/funnel.js';
import type { ReportName, ReportResult } from '../queries/reports/report.js';
import { buildReport } from '../queries/reports/report.js';
import type { SequencesReport } from '../queries/reports/sequence-steps.js';
import type { Table } from '../queries/reports/tables.js';
import { toCsv, uncountedNote } from '../queries/reports/tables.js';
import type { TimeToLeadReport } from '../queries/reports/time-to-lead.js';
import type { ReadDb } from '../queries/read-db.js';
import { BUCKETS } from '../reports/figures.js';
import type { DurationSummary, FunnelStep } from '../reports/figures.js';
import { formatInstant, humanDuration, parseInstant, table } from './format.js';
import type { Out } from './shared.js';
import { action, config, stdout } from './shared.js';

/**
 * `nurture report funnel|time-to-lead|sequences`: the read models in src/queries/reports, as
 * text for people, `--json`, or `--csv` (one table, see src/queries/reports/tables.ts).
 */

export interface ReportFlags {
  since?: string;
  sequence?: string;
  source?: string;
  /** IANA zone: `--since` dates, the instants shown and the weekly cohorts are read in it. */
  zone?: string;
  json?: boolean;
  csv?: boolean;
}

export interface ReportOutput {
  data: ReportResult['data'];
  table: Table;
  text: string;
}

/**
 * Runs one report: what the CLI prints and what the dashboard test compares against. Without
 * `--zone`, dates and instants are this machine's time and the weekly cohorts UTC weeks, as
 * before the option existed.
 */
export async function runReport(db: ReadDb, name: ReportName, f: ReportFlags, now: DateTime): Promise<ReportOutput> {
  const zone = zoneFlag(f.zone);
  const since = f.since === undefined ? undefined : parseInstant('--since', f.since, now, 'back', zone);
  const r = await buildReport(db, name, { since, source: f.source, sequence: f.sequence, zone, now: now.toJSDate() });
  switch (r.name) {
    case 'funnel':
      return { data: r.data, table: r.table, text: funnelText(r.data, zone) };
    case 'time-to-lead':
      return { data: r.data, table: r.table, text: timeToLeadText(r.data, zone) };
    case 'sequences':
      return { data: r.data, table: r.table, text: sequencesText(r.data, zone) };
  }
}

/** `--zone` as given, once checked to be an IANA zone. */
function zoneFlag(zone: string | undefined): string | undefined {
  const problem = zone === undefined ? null : zoneProblem(zone);
  if (problem) throw new InputError(`--zone: ${problem}`);
  return zone;
}

export function print(o: ReportOutput, f: ReportFlags, out: Out = stdout): void {
  if (f.json) out.json(o.data);
  else if (f.csv) out.line(toCsv(o.table).replace(/\n$/, ''));
  else out.line(o.text);
}

function scope(r: { since: string | null; source?: string | null; sequence: string | null; asOf: string; uncounted?: number }, zone?: string): string {
  const parts = [r.since ? `opted in since ${formatInstant(new Date(r.since), zone)}` : 'all time'];
  if (r.source) parts.push(`source ${r.source}`);
  if (r.sequence) parts.push(`sequence ${r.sequence}`);
  return `${parts.join(', ')}, as of ${formatInstant(new Date(r.asOf), zone)}${uncountedNote(r.uncounted ?? 0)}`;
}

const pct = (v: number | null) => (v === null ? '-' : `${v.toFixed(1)}%`);
const dur = (sec: number | null) => (sec === null ? '-' : humanDuration(sec * 1000));

function funnelRow(name: string, steps: FunnelStep[]): string[] {
  return [name, ...steps.map((s, i) => (i === 0 ? String(s.contacts) : `${s.contacts} (${pct(s.fromPreviousPercent)})`))];
}

function funnelText(r: FunnelReport, zone?: string): string {
  const headers = ['', ...r.total.steps.map((s) => s.label)];
  const lines = [`Funnel: ${scope(r, zone)}`, '', ...table(headers, [funnelRow('all', r.total.steps)])];
  const last = r.total.steps.at(-1)!;
  lines.push('', `  (n%) = share of the step before; opted in → customer ${pct(last.fromOptInPercent)}`);
  if (r.bySource.length) lines.push('', 'By source', ...table(headers, r.bySource.map((s) => funnelRow(s.source, s.steps))));
  if (r.bySequence.length) lines.push('', 'By sequence (contacts ever enrolled in it)', ...table(headers, r.bySequence.map((s) => funnelRow(s.sequence, s.steps))));
  return lines.join('\n');
}

function summaryRow(name: string, s: DurationSummary, buckets: { count: number }[]): string[] {
  return [name, String(s.count), dur(s.medianSeconds), dur(s.meanSeconds), dur(s.p90Seconds), ...buckets.map((b) => String(b.count))];
}

function timeToLeadText(r: TimeToLeadReport, zone?: string): string {
  const lines = [`Time to lead: ${scope(r, zone)}; ${r.optedIn} contacts opted in`, ''];
  lines.push(
    ...table(
      ['from opt-in to', 'contacts', 'median', 'mean', 'p90', ...BUCKETS.map((b) => b.label)],
      [summaryRow('lead', r.toLead.summary, r.toLead.buckets), summaryRow('first conversation', r.toConversation.summary, r.toConversation.buckets)],
    ),
  );
  lines.push('', `Weekly opt-in cohorts (week from Monday, ${r.zone}): share of the cohort that had become leads within`);
  if (r.cohorts.length === 0) lines.push('  none');
  else
    lines.push(
      ...table(
        ['week', 'opted in', 'leads', 'median', ...BUCKETS.map((b) => b.within)],
        r.cohorts.map((c) => [c.week, String(c.optedIn), String(c.leads), dur(c.toLead.summary.medianSeconds), ...c.cumulativePercent.map((p) => pct(p.percent))]),
      ),
    );
  return lines.join('\n');
}

function sequencesText(r: SequencesReport, zone?: string): string {
  const lines = [`Sequences: ${r.since ? `enrolled since ${formatInstant(new Date(r.since), zone)}` : 'all time'}, as of ${formatInstant(new Date(r.asOf), zone)}`];
  if (r.sequences.length === 0) lines.push('', '  no sequences');
  const n = (v: number | null) => (v === null ? '-' : String(v));
  for (const s of r.sequences) {
    lines.push(
      '',
      `${s.sequenceId} (${s.status}): ${s.enrolled} enrolled, ${s.active} active, ${s.completed} completed, ${s.exited} exited, ${s.converted} converted (${pct(s.conversionPercent)})`,
      ...table(
        ['step', 'kind', 'entered', 'sent', 'opened', 'clicked', 'converted', 'exited (why)'],
        s.steps.map((st) => [
          st.removed ? `${st.stepId} (removed)` : st.stepId,
          st.kind,
          n(st.entered),
          n(st.sent),
          st.opened === null ? '-' : `${st.opened} (${pct(st.openPercent)})`,
          st.clicked === null ? '-' : `${st.clicked} (${pct(st.clickPercent)})`,
          String(st.converted),
          st.exited === 0 ? '0' : `${st.exited} (${st.exitReasons.map((e) => `${e.reason} ${e.enrollments}`).join(', ')})`,
        ]),
      ),
    );
  }
  return lines.join('\n');
}

export function register(program: Command): void {
  const report = program.command('report').description('funnel, time to lead and sequence reports (text, --json or --csv)');
  const add = (name: ReportName, description: string, filters: ('source' | 'sequence')[]) => {
    const cmd = report
      .command(name)
      .description(description)
      .option('--since <when>', 'ISO date/time, today, yesterday, or a duration back from now like "30 days"');
    if (filters.includes('sequence')) cmd.option('--sequence <id>', 'only contacts (or enrollments) of this sequence');
    if (filters.includes('source')) cmd.option('--source <name>', "only contacts whose first opt-in has this data.source");
    if (name === 'time-to-lead') cmd.option('--zone <iana>', 'read dates, instants and the weekly cohorts in this time zone (e.g. America/New_York); cohorts are UTC weeks without it');
    else cmd.option('--zone <iana>', 'read dates and instants in this time zone (e.g. America/New_York)');
    cmd
      .option('--json', 'print JSON')
      .option('--csv', 'print CSV (one table)')
      .action(
        action(async (f: ReportFlags) => {
          if (f.json && f.csv) throw new InputError('--json and --csv: choose one');
          zoneFlag(f.zone); // before the database is opened: a typo is told at once
          const now = DateTime.now();
          const o = await withReadDb(config(), (db) => runReport(db, name, f, now));
          print(o, f);
        }),
      );
  };
  add('funnel', 'opted in → engaged → MQL → SQL → customer, with conversion, by source and sequence', ['source', 'sequence']);
  add('time-to-lead', 'opt-in to lead and to first conversation: median, mean, p90, buckets, weekly cohorts', ['source', 'sequence']);
  add('sequences', 'per sequence and step: entered, sent, opened, clicked, converted, exited and why', ['sequence']);
}
