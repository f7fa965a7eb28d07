import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { durationLowerBoundMs, formatDuration, parseDuration } from '../../src/sequences/duration.js';
import type { CalendarParts, DurationSpec } from '../../src/sequences/time-types.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function parsed(text: string): DurationSpec {
  const r = parseDuration(text);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

describe('parseDuration: what marketers write', () => {
  const good: Array<[string, CalendarParts]> = [
    ['30 seconds', { seconds: 30 }],
    ['1 second', { seconds: 1 }],
    ['45 minutes', { minutes: 45 }],
    ['2 hours', { hours: 2 }],
    ['3 days', { days: 3 }],
    ['1 day', { days: 1 }],
    ['2 weeks', { weeks: 2 }],
    ['1 month', { months: 1 }],
    ['6 months', { months: 6 }],
    ['18 months', { months: 18 }],
    ['1 year', { years: 1 }],
    ['30s', { seconds: 30 }],
    ['10 min', { minutes: 10 }],
    ['5m', { minutes: 5 }],
    ['2h', { hours: 2 }],
    ['3d', { days: 3 }],
    ['1w', { weeks: 1 }],
    ['2mo', { months: 2 }],
    ['1 day 2 hours', { days: 1, hours: 2 }],
    ['1 month, 2 days', { months: 1, days: 2 }],
    ['1 day and 2 hours', { days: 1, hours: 2 }],
    ['1d2h', { days: 1, hours: 2 }],
    ['  3 DAYS  ', { days: 3 }],
    ['2 Hours 30 Minutes', { hours: 2, minutes: 30 }],
    ['0 days 4 hours', { hours: 4 }],
  ];
  it.each(good)('%j', (text, parts) => {
    expect(parseDuration(text)).toEqual({ ok: true, value: { kind: 'calendar', parts, text: text.trim() } });
  });

  const bad = ['3 munths', 'soon', '3', 'days', '1.5 days', '3 days later', 'P', 'P1DT', 'PT', '1 day 2 days', '2 fortnights'];
  it.each(bad)('rejects %j and quotes it back', (text) => {
    const r = parseDuration(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(`"${text}"`);
  });

  it('explains a typo with examples', () => {
    expect(parseDuration('3 munths')).toEqual({
      ok: false,
      error: '"3 munths" is not a duration (try "3 days", "2 business days", "1 month" or ISO 8601 like "P3D")',
    });
  });

  it.each(['0 days', 'PT0S', '0 business days'])('rejects the zero duration %j', (text) => {
    const r = parseDuration(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/zero/);
  });

  it.each(['-3 days', '-P3D', '-1 business day'])('rejects the negative duration %j', (text) => {
    const r = parseDuration(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/negative/);
  });

  it('rejects an empty duration', () => {
    expect(parseDuration('   ').ok).toBe(false);
  });

  it('rejects absurdly long durations instead of overflowing', () => {
    const r = parseDuration('99999999999 years');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/too long/);
  });
});

describe('parseDuration: ISO 8601', () => {
  const iso: Array<[string, CalendarParts]> = [
    ['P3D', { days: 3 }],
    ['PT30M', { minutes: 30 }],
    ['P1M', { months: 1 }],
    ['P1M2DT3H', { months: 1, days: 2, hours: 3 }],
    ['P2W', { weeks: 2 }],
    ['P1Y', { years: 1 }],
    ['PT1H30M15S', { hours: 1, minutes: 30, seconds: 15 }],
    ['p3d', { days: 3 }],
  ];
  it.each(iso)('%j', (text, parts) => {
    expect(parseDuration(text)).toEqual({ ok: true, value: { kind: 'calendar', parts, text } });
  });

  it('reads M before T as months and after T as minutes', () => {
    expect(parsed('P5M')).toMatchObject({ parts: { months: 5 } });
    expect(parsed('PT5M')).toMatchObject({ parts: { minutes: 5 } });
  });
});

describe('parseDuration: business days', () => {
  it.each([
    ['2 business days', 2],
    ['1 business day', 1],
    ['10 Business Days', 10],
    ['3 working days', 3],
  ] as const)('%j', (text, days) => {
    expect(parseDuration(text)).toEqual({ ok: true, value: { kind: 'business_days', days, text } });
  });

  it.each(['1 business day 2 hours', '2 hours 1 business day', '1 week, 2 business days'])(
    'refuses to combine business days with other units: %j',
    (text) => {
      const r = parseDuration(text);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error).toContain(`"${text}"`);
        expect(r.error).toMatch(/business days cannot be combined/);
      }
    },
  );
});

describe('formatDuration', () => {
  it.each([
    ['3 days', '3 days'],
    ['1 day', '1 day'],
    ['P1M2DT3H', '1 month, 2 days, 3 hours'],
    ['1d2h', '1 day, 2 hours'],
    ['30s', '30 seconds'],
    ['2 business days', '2 business days'],
    ['1 business day', '1 business day'],
    ['P1Y2W', '1 year, 2 weeks'],
  ])('%j reads as %j', (text, human) => {
    expect(formatDuration(parsed(text))).toBe(human);
  });

  const calendarArb = fc
    .record(
      {
        years: fc.integer({ min: 0, max: 3 }),
        months: fc.integer({ min: 0, max: 30 }),
        weeks: fc.integer({ min: 0, max: 10 }),
        days: fc.integer({ min: 0, max: 60 }),
        hours: fc.integer({ min: 0, max: 48 }),
        minutes: fc.integer({ min: 0, max: 120 }),
        seconds: fc.integer({ min: 0, max: 120 }),
      },
      { requiredKeys: [] },
    )
    .filter((p) => Object.values(p).some((v) => v > 0));

  it('parses its own output back to the same parts', () => {
    fc.assert(
      fc.property(calendarArb, (parts) => {
        const spec: DurationSpec = { kind: 'calendar', parts, text: '' };
        const again = parsed(formatDuration(spec));
        const nonZero = Object.fromEntries(Object.entries(parts).filter(([, v]) => v !== 0));
        expect(again).toEqual({ kind: 'calendar', parts: nonZero, text: formatDuration(spec) });
      }),
      { numRuns: 300 },
    );
  });
});

describe('durationLowerBoundMs', () => {
  it.each([
    ['30 seconds', 30_000],
    ['2 hours', 2 * HOUR],
    // A spring-forward day is short by the jump (up to 2 h: Antarctica/Troll).
    ['1 day', 22 * HOUR],
    ['3 days', 3 * DAY - 2 * HOUR],
    ['1 day 2 hours', 24 * HOUR],
    // Jan 31 + 1 month is Feb 28: 28 days.
    ['1 month', 28 * DAY - 2 * HOUR],
    ['1 year', 365 * DAY - 2 * HOUR],
    ['1 business day', 22 * HOUR],
  ])('%j is at least %d ms', (text, ms) => {
    expect(durationLowerBoundMs(parsed(text))).toBe(ms);
  });
});
