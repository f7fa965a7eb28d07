import { rm } from 'node:fs/promises';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runReport } from '../../src/cli/report.js';
import { toCsv } from '../../src/queries/reports/tables.js';
import type { TestEngine } from '../support/engine.js';
import { startTestEngine, testConfig, writeTemplates } from '../support/engine.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';
import { seedReportData } from '../support/report-data.js';

const NOW = DateTime.fromISO('2026-12-24T00:00:00Z', { zone: 'utc' });
const PASSWORD = 'dashboard-password-123';
const AUTH = { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };

const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** The raw values of a table on the page (`data-value` of each cell), row by row. */
function tableValues(html: string, report: string): string[][] {
  const m = new RegExp(`<table data-report="${report}">([\\s\\S]*?)</table>`).exec(html);
  if (!m) throw new Error(`no table ${report} on the page`);
  const body = m[1]!.split('<tbody>')[1]!;
  return [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((r) => [...r[1]!.matchAll(/data-value="([^"]*)"/g)].map((c) => unescape(c[1]!)));
}

/** The dashboard through a real socket: operator-only, and the same numbers as `nurture report --json`. */
describe('dashboard', () => {
  let store: TestStore;
  let templatesDir: string;
  let t: TestEngine;
  let base: string;

  beforeAll(async () => {
    store = await createTestStore('postgres');
    templatesDir = await writeTemplates();
    t = await startTestEngine({ store, sequences: [], templatesDir, http: true, sweeper: false, clock: () => NOW, config: testConfig({ NURTURE_ADMIN_PASSWORD: PASSWORD }) });
    base = t.engine.http!.url;
    await seedReportData(store.db);
  });

  afterAll(async () => {
    await t?.stop();
    await store?.cleanup();
    await rm(templatesDir, { recursive: true, force: true });
  });

  it('asks for the operator password, and refuses a wrong one, on the page, its exports and its assets', async () => {
    for (const url of ['/dashboard', '/dashboard/export/funnel.csv', '/dashboard/assets/dashboard.js', '/dashboard/assets/chart.umd.min.js']) {
      const none = await fetch(`${base}${url}`);
      expect(none.status, url).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Basic /);
      const wrong = await fetch(`${base}${url}`, { headers: { authorization: `Basic ${Buffer.from('admin:nope-nope-nope').toString('base64')}` } });
      expect(wrong.status, url).toBe(401);
      expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    }
  });

  it('shows the numbers of nurture report --json, in its charts data and in its tables', async () => {
    const res = await fetch(`${base}/dashboard`, { headers: AUTH });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await res.text();
    const embedded = JSON.parse(/<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html)![1]!) as Record<string, unknown>;
    const cli = {
      funnel: await runReport(store.db, 'funnel', {}, NOW),
      timeToLead: await runReport(store.db, 'time-to-lead', {}, NOW),
      sequences: await runReport(store.db, 'sequences', {}, NOW),
    };
    expect(embedded).toEqual(JSON.parse(JSON.stringify({ funnel: cli.funnel.data, timeToLead: cli.timeToLead.data, sequences: cli.sequences.data })));
    const asCells = (rows: (string | number | null)[][]) => rows.map((r) => r.map((v) => (v === null ? '' : String(v))));
    expect(tableValues(html, 'funnel')).toEqual(asCells(cli.funnel.table.rows));
    expect(tableValues(html, 'time-to-lead')).toEqual(asCells(cli.timeToLead.table.rows));
    expect(tableValues(html, 'sequences')).toEqual(asCells(cli.sequences.table.rows));
    // Headline figures: 7 opted in, 3 leads, 42.9%, median 3 days.
    expect(html).toContain('<div class="kpi" data-kpi="opted in"><b>7</b>');
    expect(html).toContain('<div class="kpi" data-kpi="leads (SQL)"><b>3</b>');
    expect(html).toContain('<div class="kpi" data-kpi="opt-in → lead"><b>42.9%</b>');
  });

  it('filters like the CLI, and exports each report as the CLI prints it', async () => {
    const html = await (await fetch(`${base}/dashboard?since=2026-11-30&source=&sequence=welcome`, { headers: AUTH })).text();
    const funnel = await runReport(store.db, 'funnel', { since: '2026-11-30', sequence: 'welcome' }, NOW);
    expect(tableValues(html, 'funnel')).toEqual(funnel.table.rows.map((r) => r.map((v) => (v === null ? '' : String(v)))));
    const csv = await fetch(`${base}/dashboard/export/time-to-lead.csv`, { headers: AUTH });
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(await csv.text()).toBe(toCsv((await runReport(store.db, 'time-to-lead', {}, NOW)).table));
    const json = await fetch(`${base}/dashboard/export/sequences.json`, { headers: AUTH });
    expect(await json.json()).toEqual(JSON.parse(JSON.stringify((await runReport(store.db, 'sequences', {}, NOW)).data)));
  });

  it('reads the weekly cohorts in the zone asked for, as the CLI does, and refuses a zone that is not one', async () => {
    const html = await (await fetch(`${base}/dashboard?zone=Pacific/Pago_Pago`, { headers: AUTH })).text();
    expect(html).toContain('Weekly cohorts (weeks from Monday, Pacific/Pago_Pago)');
    expect(html).toContain('<input name="zone" value="Pacific/Pago_Pago"');
    const json = await fetch(`${base}/dashboard/export/time-to-lead.json?zone=Pacific/Pago_Pago`, { headers: AUTH });
    expect(await json.json()).toEqual(JSON.parse(JSON.stringify((await runReport(store.db, 'time-to-lead', { zone: 'Pacific/Pago_Pago' }, NOW)).data)));
    // Its CSV links carry the filter: a download holds the rows the page shows.
    expect(html).toContain('<a href="/dashboard/export/time-to-lead.csv?zone=Pacific%2FPago_Pago">CSV</a>');
    // Each link of a page filtered by source answers; the sequences report takes no source.
    const bySource = await (await fetch(`${base}/dashboard?source=website&zone=UTC`, { headers: AUTH })).text();
    const links = [...bySource.matchAll(/href="(\/dashboard\/export\/[^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
    expect(links).toEqual(['/dashboard/export/funnel.csv?source=website&zone=UTC', '/dashboard/export/time-to-lead.csv?source=website&zone=UTC', '/dashboard/export/sequences.csv?zone=UTC']);
    for (const link of links) expect((await fetch(`${base}${link}`, { headers: AUTH })).status).toBe(200);
    const bad = await fetch(`${base}/dashboard?zone=EST`, { headers: AUTH });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain('"EST" is not an IANA location');
  });

  it('answers a bad filter or an unknown export with a JSON error', async () => {
    const bad = await fetch(`${base}/dashboard?since=last-tuesday`, { headers: AUTH });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'INPUT_INVALID', message: expect.stringContaining('"last-tuesday"') });
    const unknown = await fetch(`${base}/dashboard/export/secrets.csv`, { headers: AUTH });
    expect(unknown.status).toBe(400);
    const wrongFilter = await fetch(`${base}/dashboard/export/sequences.csv?source=ads`, { headers: AUTH });
    expect(wrongFilter.status).toBe(400);
  });

  it('serves Chart.js from the installed package and the page script', async () => {
    const chart = await fetch(`${base}/dashboard/assets/chart.umd.min.js`, { headers: AUTH });
    expect(chart.status).toBe(200);
    expect(await chart.text()).toContain('Chart.js v4');
    const script = await fetch(`${base}/dashboard/assets/dashboard.js`, { headers: AUTH });
    expect(await script.text()).toContain("getElementById('report-data')");
  });
});
