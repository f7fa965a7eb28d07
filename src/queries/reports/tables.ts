import { stringify } from 'csv-stringify/sync';
import { BUCKETS } from '../../reports/figures.js';
import type { DurationSummary, TimeToFigures } from '../../reports/figures.js';
import type { FunnelReport } from './funnel.js';
import type { SequencesReport } from './sequence-steps.js';
import type { TimeToLeadReport } from './time-to-lead.js';

/**
 * Each report flattened into one table of plain cells: what `--csv` writes and what the
 * dashboard's tables show, so a figure has a single way of being written down. Seconds stay
 * seconds and percents stay numbers (a spreadsheet formats them); empty cells are null.
 */
export type Cell = string | number | null;
export interface Table {
  headers: string[];
  rows: Cell[][];
}

export function funnelTable(r: FunnelReport): Table {
  const rows: Cell[][] = [];
  const slice = (kind: string, name: string, steps: FunnelReport['total']['steps']) => {
    for (const s of steps) rows.push([kind, name, s.label, s.contacts, s.fromPreviousPercent, s.fromOptInPercent]);
  };
  slice('all', 'all', r.total.steps);
  for (const s of r.bySource) slice('source', s.source, s.steps);
  for (const s of r.bySequence) slice('sequence', s.sequence, s.steps);
  return { headers: ['slice', 'name', 'step', 'contacts', 'from_previous_percent', 'from_opt_in_percent'], rows };
}

const SUMMARY_HEADERS = ['contacts', 'median_seconds', 'mean_seconds', 'p90_seconds', ...BUCKETS.map((b) => b.key)];

function round(v: number | null): number | null {
  return v === null ? null : Math.round(v);
}

function summaryCells(s: DurationSummary, t: TimeToFigures): Cell[] {
  return [s.count, round(s.medianSeconds), round(s.meanSeconds), round(s.p90Seconds), ...t.buckets.map((b) => b.count)];
}

/**
 * One row for each measure over everyone, then one per weekly cohort (time to lead). A cohort's
 * row names the zone its week is read in (`--zone`), so a file read on its own says which
 * Monday it means.
 */
export function timeToLeadTable(r: TimeToLeadReport): Table {
  const rows: Cell[][] = [
    ['to_lead', null, null, r.optedIn, ...summaryCells(r.toLead.summary, r.toLead)],
    ['to_conversation', null, null, r.optedIn, ...summaryCells(r.toConversation.summary, r.toConversation)],
  ];
  for (const c of r.cohorts) rows.push(['cohort_to_lead', c.week, r.zone, c.optedIn, ...summaryCells(c.toLead.summary, c.toLead)]);
  return { headers: ['measure', 'week', 'week_zone', 'opted_in', ...SUMMARY_HEADERS], rows };
}

/** One row per sequence (`step` empty: the sequence's totals), then one per step. */
export function sequencesTable(r: SequencesReport): Table {
  const rows: Cell[][] = [];
  for (const s of r.sequences) {
    rows.push([s.sequenceId, null, null, s.enrolled, null, null, null, null, null, s.converted, s.exited, reasons(s.steps.flatMap((x) => x.exitReasons))]);
    for (const st of s.steps) {
      rows.push([s.sequenceId, st.stepId, st.kind, st.entered, st.sent, st.opened, st.clicked, st.openPercent, st.clickPercent, st.converted, st.exited, reasons(st.exitReasons)]);
    }
  }
  return {
    headers: ['sequence', 'step', 'kind', 'entered', 'sent', 'opened', 'clicked', 'open_percent', 'click_percent', 'converted', 'exited', 'exit_reasons'],
    rows,
  };
}

function reasons(list: { reason: string; enrollments: number }[]): string | null {
  const by = new Map<string, number>();
  for (const r of list) by.set(r.reason, (by.get(r.reason) ?? 0) + r.enrollments);
  if (by.size === 0) return null;
  return [...by.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([k, n]) => `${k}: ${n}`)
    .join('; ');
}

/**
 * CSV for a spreadsheet. A text cell that a spreadsheet would read as a formula (=, +, -, @)
 * gets a leading apostrophe: sources and reasons come from event data anyone can send.
 */
export function toCsv(t: Table): string {
  const cell = (v: string | number | null) => (typeof v === 'string' && /^[=+\-@\t\r]/.test(v) ? `'${v}` : v);
  return stringify([t.headers, ...t.rows.map((r) => r.map(cell))], { cast: { number: (n) => String(n) } });
}

/** Said when a report read the rollup without catching it up (a connection that cannot write). */
export function uncountedNote(uncounted: number): string {
  if (uncounted === 0) return '';
  return ` (${uncounted} contact${uncounted === 1 ? '' : 's'} changed since the engine last caught the report rollup up, not counted yet: this connection cannot write; the engine catches up every few seconds)`;
}
