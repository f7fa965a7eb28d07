import { humanDuration } from '../queries/durations.js';
import type { FunnelReport } from '../queries/reports/funnel.js';
import type { SequencesReport } from '../queries/reports/sequence-steps.js';
import type { Cell, Table } from '../queries/reports/tables.js';
import { uncountedNote } from '../queries/reports/tables.js';
import { BUCKETS } from '../reports/figures.js';
import type { TimeToLeadReport } from '../queries/reports/time-to-lead.js';

/**
 * The dashboard page, server-rendered from the same reports and tables as `nurture report`: every
 * number on it is a cell of a report's table (its raw value in `data-value`) or comes from the
 * report's JSON, embedded once for the charts. Nothing here queries anything.
 */

export interface DashboardData {
  funnel: FunnelReport;
  timeToLead: TimeToLeadReport;
  sequences: SequencesReport;
  tables: { funnel: Table; timeToLead: Table; sequences: Table };
  filter: { since: string; source: string; sequence: string; zone: string };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** JSON inside a <script> element: `<` escaped so no value can close the element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function shown(header: string, v: Cell): string {
  if (v === null) return '';
  if (typeof v === 'number' && header.endsWith('_seconds')) return humanDuration(v * 1000);
  if (typeof v === 'number' && header.endsWith('_percent')) return `${v.toFixed(1)}%`;
  return String(v);
}

const BUCKET_LABELS = new Map<string, string>(BUCKETS.map((b) => [b.key, b.label]));

/** A column's name for people: durations are shown as durations, buckets by their label. */
function heading(h: string): string {
  return BUCKET_LABELS.get(h) ?? h.replace(/_seconds$/, '').replace(/_percent$/, ' %').replace(/_/g, ' ');
}

function tableHtml(id: string, t: Table): string {
  const head = t.headers.map((h) => `<th>${esc(heading(h))}</th>`).join('');
  const rows = t.rows
    .map((r) => `<tr>${r.map((v, i) => `<td data-value="${v === null ? '' : esc(String(v))}"${typeof v === 'number' ? ' class="n"' : ''}>${esc(shown(t.headers[i]!, v))}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table data-report="${esc(id)}"><thead><tr>${head}</tr></thead><tbody>\n${rows}\n</tbody></table>`;
}

export function dashboardPage(d: DashboardData): string {
  const f = d.filter;
  // The exports take the page's filter, so a CSV holds the rows the page shows; the sequences
  // report is per enrollment and takes no source (the page leaves it out there too).
  const exportOf = (file: string) => {
    const given = Object.entries(f).filter(([k, v]) => v !== '' && !(k === 'source' && file.startsWith('sequences.')));
    return esc(`/dashboard/export/${file}${given.length === 0 ? '' : `?${new URLSearchParams(given).toString()}`}`);
  };
  const t = d.timeToLead;
  const funnelTotal = d.funnel.total.steps;
  const headline = [
    ['opted in', String(funnelTotal[0]!.contacts)],
    ['leads (SQL)', String(funnelTotal[3]!.contacts)],
    ['opt-in → lead', funnelTotal[3]!.fromOptInPercent === null ? '-' : `${funnelTotal[3]!.fromOptInPercent.toFixed(1)}%`],
    ['median time to lead', t.toLead.summary.medianSeconds === null ? '-' : humanDuration(t.toLead.summary.medianSeconds * 1000)],
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Nurture dashboard</title>
<link rel="icon" href="data:,">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2733; background: #f5f7fa; }
  header { background: #1d3557; color: #fff; padding: 12px 24px; display: flex; gap: 24px; align-items: baseline; flex-wrap: wrap; }
  header h1 { font-size: 20px; margin: 0; }
  header form { display: flex; gap: 8px; align-items: center; }
  header input { width: 9em; }
  main { padding: 16px 24px; display: grid; gap: 16px; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); }
  section { background: #fff; border-radius: 6px; padding: 12px 16px; box-shadow: 0 1px 2px rgba(0,0,0,.08); overflow-x: auto; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: 16px; margin: 0 0 8px; }
  .kpis { display: flex; gap: 24px; flex-wrap: wrap; }
  .kpi b { display: block; font-size: 24px; }
  .chart { position: relative; height: 260px; }
  table { border-collapse: collapse; margin-top: 8px; font-size: 12px; }
  th, td { padding: 2px 8px; border-bottom: 1px solid #e3e8ef; text-align: left; white-space: nowrap; }
  td.n { text-align: right; font-variant-numeric: tabular-nums; }
  a { color: #1d3557; }
  .scope { color: #cfd8e3; }
</style>
</head>
<body>
<header>
  <h1>Nurture</h1>
  <span class="scope">as of ${esc(d.funnel.asOf)}${esc(uncountedNote(d.funnel.uncounted))}</span>
  <form method="get" action="/dashboard">
    <label>since <input name="since" value="${esc(f.since)}" placeholder="2026-11-01"></label>
    <label>source <input name="source" value="${esc(f.source)}"></label>
    <label>sequence <input name="sequence" value="${esc(f.sequence)}"></label>
    <label>zone <input name="zone" value="${esc(f.zone)}" placeholder="UTC"></label>
    <button type="submit">apply</button>
  </form>
</header>
<main>
<section class="wide"><div class="kpis">${headline.map(([k, v]) => `<div class="kpi" data-kpi="${esc(k!)}"><b>${esc(v!)}</b>${esc(k!)}</div>`).join('')}</div></section>
<section>
  <h2>Funnel: opted in → engaged → MQL → SQL → customer</h2>
  <div class="chart"><canvas id="funnel-chart" role="img" aria-label="funnel"></canvas></div>
</section>
<section>
  <h2>Time from opt-in to lead and to first conversation</h2>
  <div class="chart"><canvas id="time-chart" role="img" aria-label="time to lead histogram"></canvas></div>
</section>
<section>
  <h2>Weekly cohorts (weeks from Monday, ${esc(d.timeToLead.zone)}): share who had become leads within</h2>
  <div class="chart"><canvas id="cohort-chart" role="img" aria-label="cohort lines"></canvas></div>
</section>
<section>
  <h2>Funnel by source and sequence <a href="${exportOf('funnel.csv')}">CSV</a></h2>
  ${tableHtml('funnel', d.tables.funnel)}
</section>
<section class="wide">
  <h2>Time to lead <a href="${exportOf('time-to-lead.csv')}">CSV</a></h2>
  ${tableHtml('time-to-lead', d.tables.timeToLead)}
</section>
<section class="wide">
  <h2>Sequences, step by step <a href="${exportOf('sequences.csv')}">CSV</a></h2>
  ${tableHtml('sequences', d.tables.sequences)}
</section>
</main>
<script type="application/json" id="report-data">${scriptJson({ funnel: d.funnel, timeToLead: d.timeToLead, sequences: d.sequences })}</script>
<script src="/dashboard/assets/chart.umd.min.js"></script>
<script src="/dashboard/assets/dashboard.js"></script>
</body>
</html>
`;
}
