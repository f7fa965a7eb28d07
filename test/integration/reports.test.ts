import { parse } from 'csv-parse/sync';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runReport } from '../../src/cli/report.js';
import { toCsv } from '../../src/queries/reports/tables.js';
import type { FunnelReport } from '../../src/queries/reports/funnel.js';
import type { SequencesReport } from '../../src/queries/reports/sequence-steps.js';
import type { TimeToLeadReport } from '../../src/queries/reports/time-to-lead.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';
import { seedReportData } from '../support/report-data.js';

const NOW = DateTime.fromISO('2026-12-24T00:00:00Z', { zone: 'utc' });
const H = 3600;
const D = 24 * H;

/** The reports over a store with known answers (test/support/report-data.ts), read as the CLI reads them. */
describe('nurture report', () => {
  let store: TestStore;

  beforeAll(async () => {
    store = await createTestStore('postgres');
    await seedReportData(store.db);
  });
  afterAll(async () => {
    await store?.cleanup();
  });

  const counts = (steps: FunnelReport['total']['steps']) => steps.map((s) => s.contacts);

  it('funnel: every step holds the contacts who got that far after opting in, by source and by sequence', async () => {
    const r = (await runReport(store.db, 'funnel', {}, NOW)).data as FunnelReport;
    // 7 opted in (gus never did); engaged: ann, bob, cat, eve (a lead counts as engaged and MQL too).
    expect(counts(r.total.steps)).toEqual([7, 4, 3, 3, 1]);
    expect(r.total.steps.map((s) => s.fromPreviousPercent)).toEqual([null, 57.1, 75, 100, 33.3]);
    expect(r.total.steps.map((s) => s.fromOptInPercent)).toEqual([100, 57.1, 42.9, 42.9, 14.3]);
    expect(r.bySource.map((s) => [s.source, counts(s.steps)])).toEqual([
      ['website', [4, 2, 2, 2, 0]],
      ['ads', [2, 1, 0, 0, 0]],
      ['(none)', [1, 1, 1, 1, 1]],
    ]);
    expect(r.bySequence.map((s) => [s.sequence, counts(s.steps)])).toEqual([['welcome', [6, 4, 3, 3, 1]]]);
  });

  it('funnel filters: --since, --source, --sequence', async () => {
    const since = (await runReport(store.db, 'funnel', { since: '2026-11-30' }, NOW)).data as FunnelReport;
    expect(counts(since.total.steps)).toEqual([3, 1, 1, 1, 1]);
    const ads = (await runReport(store.db, 'funnel', { source: 'ads' }, NOW)).data as FunnelReport;
    expect(counts(ads.total.steps)).toEqual([2, 1, 0, 0, 0]);
    const seq = (await runReport(store.db, 'funnel', { sequence: 'welcome' }, NOW)).data as FunnelReport;
    expect(counts(seq.total.steps)).toEqual([6, 4, 3, 3, 1]);
    const none = (await runReport(store.db, 'funnel', { sequence: 'nope' }, NOW)).data as FunnelReport;
    expect(counts(none.total.steps)).toEqual([0, 0, 0, 0, 0]);
    expect(none.total.steps[1]!.fromPreviousPercent).toBeNull();
  });

  it('time to lead and to first conversation: median, mean, p90, buckets, weekly cohorts', async () => {
    const r = (await runReport(store.db, 'time-to-lead', {}, NOW)).data as TimeToLeadReport;
    expect(r.optedIn).toBe(7);
    // bob 30 min, ann 3 days, eve 9 days.
    expect(r.toLead.summary).toEqual({ count: 3, medianSeconds: 3 * D, meanSeconds: (0.5 * H + 3 * D + 9 * D) / 3, p90Seconds: 3 * D + 0.8 * 6 * D });
    expect(r.toLead.buckets.map((b) => [b.key, b.count])).toEqual([
      ['under_1h', 1],
      ['1h_36h', 0],
      ['36h_7d', 1],
      ['7d_30d', 1],
      ['1m_6m', 0],
      ['6m_18m', 0],
      ['over_18m', 0],
    ]);
    // bob asked for an appointment after 30 min; eve's call connected after exactly 7 days ("Connected").
    expect(r.toConversation.summary.count).toBe(2);
    expect(r.toConversation.buckets.filter((b) => b.count > 0).map((b) => b.key)).toEqual(['under_1h', '7d_30d']);
    expect(r.cohorts.map((c) => [c.week, c.optedIn, c.leads, c.conversionPercent, c.toLead.summary.medianSeconds])).toEqual([
      ['2026-11-23', 4, 2, 50, (0.5 * H + 3 * D) / 2],
      ['2026-11-30', 3, 1, 33.3, 9 * D],
    ]);
    expect(r.cohorts[0]!.cumulativePercent.map((p) => p.percent)).toEqual([25, 25, 50, 50, 50, 50, 50]);
    expect(r.cohorts[1]!.cumulativePercent.map((p) => p.percent)).toEqual([0, 0, 0, 33.3, 33.3, 33.3, 33.3]);
  });

  it('--zone: weekly cohorts are that zone\'s weeks, and --since dates are read in it', async () => {
    // ann opted in on Monday 2026-11-23 at 10:00 UTC: 23:00 on Sunday the 22nd in Pago Pago (UTC-11).
    const o = await runReport(store.db, 'time-to-lead', { zone: 'Pacific/Pago_Pago' }, NOW);
    const r = o.data as TimeToLeadReport;
    expect(r.zone).toBe('Pacific/Pago_Pago');
    // The opt-ins per week (counted in SQL) and the leads per week (in the figures) agree on the weeks.
    expect(r.cohorts.map((c) => [c.week, c.optedIn, c.leads, c.conversionPercent, c.toLead.summary.medianSeconds])).toEqual([
      ['2026-11-16', 1, 1, 100, 3 * D],
      ['2026-11-23', 3, 1, 33.3, 0.5 * H],
      ['2026-11-30', 3, 1, 33.3, 9 * D],
    ]);
    expect(o.text).toContain('Weekly opt-in cohorts (week from Monday, Pacific/Pago_Pago)');
    expect(o.text).toContain('as of 2026-12-23 13:00 GMT-11');
    // Without it, UTC weeks as before.
    expect(((await runReport(store.db, 'time-to-lead', {}, NOW)).data as TimeToLeadReport).zone).toBe('UTC');
    // 2026-11-23 in Pago Pago begins at 11:00 UTC: ann (10:00 UTC) is before it.
    const since = (await runReport(store.db, 'funnel', { since: '2026-11-23', zone: 'Pacific/Pago_Pago' }, NOW)).data as FunnelReport;
    expect(since.total.steps[0]!.contacts).toBe(6);
  });

  it('--zone: a name that is not an IANA zone is refused, saying which', async () => {
    await expect(runReport(store.db, 'time-to-lead', { zone: 'EST' }, NOW)).rejects.toThrow('--zone: "EST" is not an IANA location: it is an abbreviation or a POSIX rule; did you mean "America/New_York"?');
    await expect(runReport(store.db, 'funnel', { zone: 'Mars/Olympus' }, NOW)).rejects.toThrow(/^--zone: "Mars\/Olympus" is not an IANA time zone/);
  });

  it('sequences: per step entered, sent, opened, clicked, converted (last touch) and exits with their reasons', async () => {
    const r = (await runReport(store.db, 'sequences', {}, NOW)).data as SequencesReport;
    expect(r.sequences).toHaveLength(1);
    const s = r.sequences[0]!;
    expect([s.sequenceId, s.status, s.enrolled, s.active, s.completed, s.exited, s.converted, s.conversionPercent]).toEqual(['welcome', 'live', 6, 1, 1, 4, 3, 50]);
    const rows = Object.fromEntries(s.steps.map((x) => [x.stepId, [x.kind, x.entered, x.sent, x.opened, x.clicked, x.converted, x.exited, x.exitReasons]]));
    expect(s.steps.map((x) => x.stepId)).toEqual(['welcome', 'welcome-wait', 'guide', 'guide-wait', 'call']);
    expect(rows).toEqual({
      welcome: ['email', 6, 6, 2, 0, 1, 0, []],
      'welcome-wait': ['wait', null, null, null, null, 0, 2, [{ reason: 'event:unsubscribed', enrollments: 1 }, { reason: 'promoted', enrollments: 1 }]],
      guide: ['email', 3, 3, 1, 1, 1, 0, []],
      'guide-wait': ['wait', null, null, null, null, 0, 1, [{ reason: 'promoted', enrollments: 1 }]],
      call: ['call', 1, 1, null, null, 1, 1, [{ reason: 'promoted', enrollments: 1 }]],
    });
    const since = (await runReport(store.db, 'sequences', { since: '2026-11-30' }, NOW)).data as SequencesReport;
    expect(since.sequences[0]!.enrolled).toBe(2);
    expect(since.sequences[0]!.steps.find((x) => x.stepId === 'welcome')!.entered).toBe(2);
  });

  it('--csv is one table a CSV parser reads back, and a formula-like text cell is defused', async () => {
    const out = await runReport(store.db, 'funnel', {}, NOW);
    const rows = parse(toCsv(out.table)) as string[][];
    expect(rows[0]).toEqual(['slice', 'name', 'step', 'contacts', 'from_previous_percent', 'from_opt_in_percent']);
    expect(rows[1]).toEqual(['all', 'all', 'opted in', '7', '', '100']);
    expect(rows.find((r) => r[0] === 'source' && r[1] === 'ads' && r[2] === 'engaged')).toEqual(['source', 'ads', 'engaged', '1', '50', '50']);
    expect(parse(toCsv({ headers: ['a', 'b'], rows: [['=HYPERLINK("x")', 'x, "y"']] }))).toEqual([['a', 'b'], ['\'=HYPERLINK("x")', 'x, "y"']]);
    const ttl = parse(toCsv((await runReport(store.db, 'time-to-lead', {}, NOW)).table)) as string[][];
    expect(ttl[0]!.slice(0, 4)).toEqual(['measure', 'week', 'week_zone', 'opted_in']);
    expect(ttl[1]!.slice(0, 8)).toEqual(['to_lead', '', '', '7', '3', String(3 * D), String(Math.round((0.5 * H + 12 * D) / 3)), String(Math.round(3 * D + 4.8 * D))]);
    expect(ttl.map((r) => r[0])).toEqual(['measure', 'to_lead', 'to_conversation', 'cohort_to_lead', 'cohort_to_lead']);
    // Each cohort row names the zone of its week: UTC by default, the one asked for otherwise.
    expect(ttl.slice(3).map((r) => r.slice(1, 3))).toEqual([
      ['2026-11-23', 'UTC'],
      ['2026-11-30', 'UTC'],
    ]);
    const zoned = parse(toCsv((await runReport(store.db, 'time-to-lead', { zone: 'Pacific/Auckland' }, NOW)).table)) as string[][];
    expect(new Set(zoned.slice(3).map((r) => r[2]))).toEqual(new Set(['Pacific/Auckland']));
  });
});
