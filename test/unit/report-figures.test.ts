import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DateTime } from 'luxon';
import { BUCKETS, bucketOf, cohorts, funnelSteps, histogram, percent, plusMonthsUtc, quantile, summarize, timeTo, weekOf } from '../../src/reports/figures.js';

const at = (iso: string) => new Date(iso);
const HOUR = 3_600_000;

describe('report figures', () => {
  it('quantiles interpolate between ranks like percentile_cont', () => {
    expect(quantile([], 0.5)).toBeNull();
    expect(quantile([5], 0.9)).toBe(5);
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.9)).toBeCloseTo(91);
    expect(summarize([3, 1, 2])).toEqual({ count: 3, medianSeconds: 2, meanSeconds: 2, p90Seconds: 2.8 });
  });

  it('puts each duration in its bucket, edges exclusive, months on the calendar', () => {
    const from = at('2026-01-31T10:00:00Z');
    const plus = (ms: number) => new Date(from.getTime() + ms);
    expect(bucketOf(from, from)).toBe('under_1h');
    expect(bucketOf(from, plus(HOUR - 1))).toBe('under_1h');
    expect(bucketOf(from, plus(HOUR))).toBe('1h_36h');
    expect(bucketOf(from, plus(36 * HOUR))).toBe('36h_7d');
    expect(bucketOf(from, plus(7 * 24 * HOUR))).toBe('7d_30d');
    expect(bucketOf(from, plus(30 * 24 * HOUR))).toBe('1m_6m');
    // 31 January + 6 months is 31 July.
    expect(bucketOf(from, at('2026-07-31T09:59:59Z'))).toBe('1m_6m');
    expect(bucketOf(from, at('2026-07-31T10:00:00Z'))).toBe('6m_18m');
    expect(bucketOf(from, at('2027-07-31T10:00:00Z'))).toBe('over_18m');
  });

  it('names a cohort by the Monday of its week, in UTC', () => {
    expect(weekOf(at('2026-11-23T00:00:00Z'))).toBe('2026-11-23'); // a Monday
    expect(weekOf(at('2026-11-29T23:59:59Z'))).toBe('2026-11-23'); // the Sunday after
    expect(weekOf(at('2026-11-30T00:00:00Z'))).toBe('2026-11-30');
  });


  it('builds weekly cohorts with their cumulative conversion', () => {
    const list = [
      { optedInAt: at('2026-11-23T10:00:00Z'), leadAt: at('2026-11-23T10:30:00Z'), conversationAt: null },
      { optedInAt: at('2026-11-24T10:00:00Z'), leadAt: at('2026-11-27T10:00:00Z'), conversationAt: at('2026-11-26T10:00:00Z') },
      { optedInAt: at('2026-12-01T10:00:00Z'), leadAt: null, conversationAt: at('2026-12-01T12:00:00Z') },
    ];
    const c = cohorts(
      [
        { week: '2026-11-23', optedIn: 4 },
        { week: '2026-11-30', optedIn: 2 },
      ],
      list,
    );
    expect(c.map((x) => [x.week, x.optedIn, x.leads, x.conversionPercent])).toEqual([
      ['2026-11-23', 4, 2, 50],
      ['2026-11-30', 2, 0, 0],
    ]);
    expect(c[0]!.cumulativePercent.map((p) => p.percent)).toEqual([25, 25, 50, 50, 50, 50, 50]);
    expect(c[0]!.toLead.summary.medianSeconds).toBe((0.5 * HOUR + 72 * HOUR) / 2 / 1000);
    const conv = timeTo(list, (j) => j.conversationAt);
    expect(conv.summary.count).toBe(2);
    expect(conv.buckets.find((b) => b.key === '1h_36h')!.count).toBe(1);
    expect(conv.buckets.find((b) => b.key === '36h_7d')!.count).toBe(1);
  });

  it('gives each funnel step its share of the step before and of the opt-ins', () => {
    const steps = funnelSteps({ optedIn: 200, engaged: 100, mql: 40, sql: 10, customer: 0 });
    expect(steps.map((s) => [s.key, s.contacts, s.fromPreviousPercent, s.fromOptInPercent])).toEqual([
      ['optedIn', 200, null, 100],
      ['engaged', 100, 50, 50],
      ['mql', 40, 40, 20],
      ['sql', 10, 25, 5],
      ['customer', 0, 0, 0],
    ]);
    expect(funnelSteps({ optedIn: 0, engaged: 0, mql: 0, sql: 0, customer: 0 })[1]!.fromPreviousPercent).toBeNull();
    expect(percent(1, 3)).toBe(33.3);
  });
});

const instant = fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2030-01-01T00:00:00Z'), noInvalidDate: true });
const span = fc.tuple(instant, fc.integer({ min: 0, max: 3 * 365 * 24 * 3600 })).map(([from, s]) => ({ from, to: new Date(from.getTime() + s * 1000) }));

describe('report figures (properties)', () => {
  it('a quantile lies between the smallest and largest value and grows with p', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1e9, noNaN: true }), { minLength: 1 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (values, p, q) => {
        const sorted = [...values].sort((a, b) => a - b);
        const [lo, hi] = p <= q ? [p, q] : [q, p];
        const a = quantile(sorted, lo)!;
        const b = quantile(sorted, hi)!;
        expect(a).toBeGreaterThanOrEqual(sorted[0]!);
        expect(b).toBeLessThanOrEqual(sorted.at(-1)!);
        expect(a).toBeLessThanOrEqual(b);
      }),
    );
  });

  it('every span lands in exactly one bucket, and later ends never land in earlier buckets', () => {
    fc.assert(
      fc.property(fc.array(span), (spans) => {
        expect(histogram(spans).reduce((n, b) => n + b.count, 0)).toBe(spans.length);
      }),
    );
    const order = BUCKETS.map((b) => b.key as string);
    fc.assert(
      fc.property(instant, fc.nat({ max: 1e11 }), fc.nat({ max: 1e11 }), (from, a, b) => {
        const [x, y] = a <= b ? [a, b] : [b, a];
        const i = order.indexOf(bucketOf(from, new Date(from.getTime() + x)));
        const j = order.indexOf(bucketOf(from, new Date(from.getTime() + y)));
        expect(i).toBeLessThanOrEqual(j);
      }),
    );
  });

  it("a cohort's line never goes down, never passes 100% and ends at its conversion", () => {
    const journey = span.chain((s) => fc.boolean().map((lead) => ({ optedInAt: s.from, leadAt: lead ? s.to : null, conversationAt: null })));
    fc.assert(
      fc.property(fc.array(journey, { maxLength: 50 }), fc.nat({ max: 20 }), (list, extra) => {
        const byWeek = new Map<string, number>();
        for (const j of list) byWeek.set(weekOf(j.optedInAt), (byWeek.get(weekOf(j.optedInAt)) ?? 0) + 1);
        const weeks = [...byWeek.entries()].map(([week, n]) => ({ week, optedIn: n + extra }));
        const result = cohorts(weeks, list);
        expect(result.map((c) => c.week)).toEqual([...byWeek.keys()].sort());
        for (const c of result) {
          const line = c.cumulativePercent.map((p) => p.percent ?? 0);
          for (let i = 1; i < line.length; i++) expect(line[i]!).toBeGreaterThanOrEqual(line[i - 1]!);
          expect(line.at(-1)!).toBeLessThanOrEqual(100);
          expect(c.cumulativePercent.at(-1)!.percent).toBe(c.conversionPercent);
          expect(c.toLead.summary.count).toBe(c.leads);
        }
      }),
    );
  });

  it('funnel shares are at most 100% when each step holds at most the one before', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 1000 }), { minLength: 5, maxLength: 5 }), (raw) => {
        const [a, b, c, d, e] = [...raw].sort((x, y) => y - x) as [number, number, number, number, number];
        for (const s of funnelSteps({ optedIn: a, engaged: b, mql: c, sql: d, customer: e })) {
          if (s.fromPreviousPercent !== null) expect(s.fromPreviousPercent).toBeLessThanOrEqual(100);
          if (s.fromOptInPercent !== null) expect(s.fromOptInPercent).toBeLessThanOrEqual(100);
        }
      }),
    );
  });
});

describe('calendar months in UTC', () => {
  it('adds months like luxon, the day clamped to the end of a shorter month', () => {
    fc.assert(
      fc.property(instant, fc.integer({ min: 0, max: 24 }), (at, months) => {
        expect(plusMonthsUtc(at, months)).toBe(DateTime.fromJSDate(at, { zone: 'utc' }).plus({ months }).toMillis());
      }),
    );
  });
});

describe('weeks in UTC', () => {
  it('names the Monday luxon names', () => {
    fc.assert(
      fc.property(instant, (at) => {
        expect(weekOf(at)).toBe(DateTime.fromJSDate(at, { zone: 'utc' }).startOf('week').toISODate());
      }),
    );
  });
});
