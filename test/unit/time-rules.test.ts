import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { durationLowerBoundMs, formatDuration, parseDuration } from '../../src/sequences/duration.js';
import {
  addDuration,
  applyCaps,
  expandDays,
  isInWindow,
  nextOpening,
  parseTimeOfDay,
  resolveWait,
} from '../../src/sequences/time-rules.js';
import { WEEKDAYS } from '../../src/sequences/time-types.js';
import { zoneNamed } from '../../src/sequences/zones.js';
import { dstChangeDays, instantNear, timeOfDayArb } from '../support/time-arbitraries.js';
import type {
  CalendarParts,
  DurationSpec,
  FrequencyCap,
  SendWindow,
  TimeContext,
  WaitSpec,
  Weekday,
} from '../../src/sequences/time-types.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const CHICAGO: TimeContext = { zone: 'America/Chicago', holidays: new Set() };

function ctxOf(zone: string, holidays: string[] = []): TimeContext {
  return { zone, holidays: new Set(holidays) };
}

/** Wall-clock time in a zone; only for times that happen exactly once (else give an offset). */
function local(iso: string, zone = 'America/Chicago'): DateTime {
  const dt = DateTime.fromISO(iso, { zone });
  if (!dt.isValid) throw new Error(`bad fixture ${iso}`);
  return dt;
}

function dur(text: string): DurationSpec {
  const r = parseDuration(text);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

const WEEKDAYS_ONLY: Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri'];
const OFFICE: SendWindow = { days: WEEKDAYS_ONLY, from: '09:00', to: '17:00' };

describe('addDuration', () => {
  it('clamps Jan 31 + 1 month to the end of February', () => {
    expect(addDuration(local('2027-01-31T10:00'), dur('1 month'), CHICAGO).toISO()).toBe('2027-02-28T10:00:00.000-06:00');
    expect(addDuration(local('2028-01-31T10:00'), dur('1 month'), CHICAGO).toISO()).toBe('2028-02-29T10:00:00.000-06:00');
  });

  it('keeps 09:30 local across spring forward (a 23 h day) and fall back (a 25 h day)', () => {
    const spring = local('2026-03-07T09:30');
    const afterSpring = addDuration(spring, dur('1 day'), CHICAGO);
    expect(afterSpring.toISO()).toBe('2026-03-08T09:30:00.000-05:00');
    expect(afterSpring.diff(spring).as('hours')).toBe(23);

    const fall = local('2026-10-31T09:30');
    const afterFall = addDuration(fall, dur('1 day'), CHICAGO);
    expect(afterFall.toISO()).toBe('2026-11-01T09:30:00.000-06:00');
    expect(afterFall.diff(fall).as('hours')).toBe(25);
  });

  it('lands a day, week or month that ends in the DST gap on the first instant after it, like until and windows', () => {
    // 2026-03-08 02:30 does not exist in Chicago (01:59:59 CST is followed by 03:00 CDT).
    expect(addDuration(local('2026-03-07T02:30'), dur('1 day'), CHICAGO).toISO()).toBe('2026-03-08T03:00:00.000-05:00');
    expect(addDuration(local('2026-03-01T02:30'), dur('1 week'), CHICAGO).toISO()).toBe('2026-03-08T03:00:00.000-05:00');
    expect(addDuration(local('2026-02-08T02:30:45'), dur('1 month'), CHICAGO).toISO()).toBe('2026-03-08T03:00:00.000-05:00');
    // The time part is elapsed time after the date part: 03:00 + 2 h.
    expect(addDuration(local('2026-03-07T02:30'), dur('1 day 2 hours'), CHICAGO).toISO()).toBe('2026-03-08T05:00:00.000-05:00');
    expect(resolveWait(local('2026-03-07T02:30'), { kind: 'until', at: '02:30', on: [] }, CHICAGO).toISO()).toBe('2026-03-08T03:00:00.000-05:00');
    expect(nextOpening(local('2026-03-07T23:00'), { days: [...WEEKDAYS], from: '02:30', to: '06:00' }, CHICAGO).toISO()).toBe('2026-03-08T03:00:00.000-05:00');
  });

  it('lands a business day that ends in the DST gap on the first instant after it', () => {
    // Israel springs forward on Friday 2026-03-27 from 02:00 to 03:00.
    const ctx = ctxOf('Asia/Jerusalem');
    expect(addDuration(local('2026-03-26T02:30', 'Asia/Jerusalem'), dur('1 business day'), ctx).toISO()).toBe('2026-03-27T03:00:00.000+03:00');
  });

  it('takes the earlier of a repeated fall-back time, and never moves an instant that only adds hours', () => {
    expect(addDuration(local('2026-10-31T01:30'), dur('1 day'), CHICAGO).toISO()).toBe('2026-11-01T01:30:00.000-05:00');
    const second = DateTime.fromISO('2026-11-01T01:30-06:00');
    expect(addDuration(second, dur('30 minutes'), CHICAGO).toISO()).toBe('2026-11-01T02:00:00.000-06:00');
  });

  it('counts hours as elapsed time across DST', () => {
    expect(addDuration(local('2026-03-08T00:30'), dur('2 hours'), CHICAGO).toISO()).toBe('2026-03-08T03:30:00.000-05:00');
  });

  it('answers in the contact zone whatever zone the input is in', () => {
    const out = addDuration(DateTime.fromISO('2026-06-01T12:00:00Z', { setZone: true }), dur('1 day'), ctxOf('Asia/Kolkata'));
    expect(out.zoneName).toBe('Asia/Kolkata');
    expect(out.toISO()).toBe('2026-06-02T17:30:00.000+05:30');
  });

  describe('business days', () => {
    it('skips a weekend', () => {
      expect(addDuration(local('2026-03-06T10:00'), dur('1 business day'), CHICAGO).toISO()).toBe('2026-03-09T10:00:00.000-05:00');
      expect(addDuration(local('2026-03-05T10:00'), dur('2 business days'), CHICAGO).toISO()).toBe('2026-03-09T10:00:00.000-05:00');
    });

    it('skips a holiday and a weekend together', () => {
      const ctx = ctxOf('America/Chicago', ['2026-12-25']);
      // Thu Dec 24 -> (Fri 25 holiday, Sat, Sun) -> Mon 28
      expect(addDuration(local('2026-12-24T10:00'), dur('1 business day'), ctx).toISO()).toBe('2026-12-28T10:00:00.000-06:00');
      expect(addDuration(local('2026-12-23T10:00'), dur('3 business days'), ctx).toISO()).toBe('2026-12-29T10:00:00.000-06:00');
    });

    it('counts like WORKDAY from a weekend or holiday: the next business day after Saturday is Monday', () => {
      // Friday, Saturday and Sunday 10:00 + 1 business day are all Monday 10:00, as in a spreadsheet.
      expect(addDuration(local('2026-03-06T10:00'), dur('1 business day'), CHICAGO).toISO()).toBe('2026-03-09T10:00:00.000-05:00');
      expect(addDuration(local('2026-03-07T10:00'), dur('1 business day'), CHICAGO).toISO()).toBe('2026-03-09T10:00:00.000-05:00');
      expect(addDuration(local('2026-03-08T23:00'), dur('1 business day'), CHICAGO).toISO()).toBe('2026-03-09T23:00:00.000-05:00');
      expect(addDuration(local('2026-03-07T10:00'), dur('2 business days'), CHICAGO).toISO()).toBe('2026-03-10T10:00:00.000-05:00');
      const ctx = ctxOf('America/Chicago', ['2026-12-25']);
      // Christmas (a Friday holiday) + 1 is Monday, like Thursday + 1.
      expect(addDuration(local('2026-12-25T08:00'), dur('1 business day'), ctx).toISO()).toBe('2026-12-28T08:00:00.000-06:00');
      expect(addDuration(local('2026-12-24T08:00'), dur('1 business day'), ctx).toISO()).toBe('2026-12-28T08:00:00.000-06:00');
    });

    it('can be shorter than 24 h per day where DST changes on a weekday', () => {
      // Israel springs forward on Friday 2026-03-27 at 02:00.
      const from = local('2026-03-26T10:00', 'Asia/Jerusalem');
      const to = addDuration(from, dur('1 business day'), ctxOf('Asia/Jerusalem'));
      expect(to.toISO()).toBe('2026-03-27T10:00:00.000+03:00');
      expect(to.diff(from).as('hours')).toBe(23);
      expect(to.toMillis() - from.toMillis()).toBeGreaterThanOrEqual(durationLowerBoundMs(dur('1 business day')));
    });

    it('keeps the wall time even when a day in between has it in the DST gap', () => {
      // Fri 02:30 + 3 business days: Sunday 02:30 does not exist in Chicago, Wednesday's does.
      expect(addDuration(local('2026-03-06T02:30'), dur('3 business days'), CHICAGO).toISO()).toBe('2026-03-11T02:30:00.000-05:00');
    });

    it('fails clearly when holidays leave no business day', () => {
      const all = Array.from({ length: 900 }, (_, i) => local('2026-01-01').plus({ days: i }).toISODate()!);
      expect(() => addDuration(local('2026-01-01T10:00'), dur('1 business day'), ctxOf('America/Chicago', all))).toThrow(/No business day/);
    });
  });
});

describe('resolveWait', () => {
  const until = (at: string, on: Weekday[] = []): WaitSpec => ({ kind: 'until', at, on });

  it('waits for a duration', () => {
    expect(resolveWait(local('2026-05-01T10:00'), { kind: 'for', duration: dur('3 days') }, CHICAGO).toISO()).toBe(
      '2026-05-04T10:00:00.000-05:00',
    );
  });

  it('gives 09:30 local on both DST change days', () => {
    expect(resolveWait(local('2026-03-08T00:10'), until('09:30'), CHICAGO).toISO()).toBe('2026-03-08T09:30:00.000-05:00');
    expect(resolveWait(local('2026-11-01T00:10'), until('09:30'), CHICAGO).toISO()).toBe('2026-11-01T09:30:00.000-06:00');
  });

  it('is strictly after from', () => {
    expect(resolveWait(local('2026-05-01T09:30'), until('09:30'), CHICAGO).toISO()).toBe('2026-05-02T09:30:00.000-05:00');
  });

  it('honours weekdays and holidays', () => {
    // Fri 2026-05-01 10:00, until 09:30 on mon/wed -> Mon May 4, but May 4 is a holiday -> Wed May 6.
    const ctx = ctxOf('America/Chicago', ['2026-05-04']);
    expect(resolveWait(local('2026-05-01T10:00'), until('09:30', ['mon', 'wed']), ctx).toISO()).toBe('2026-05-06T09:30:00.000-05:00');
  });

  it('skips holidays: until 09:00 on the eve of a holiday waits for the day after it', () => {
    // Documented in the README: `until` never lands on a holiday, with or without `on`.
    const ctx = ctxOf('America/Chicago', ['2026-12-25']);
    expect(resolveWait(local('2026-12-24T18:00'), until('09:00'), ctx).toISO()).toBe('2026-12-26T09:00:00.000-06:00');
    expect(resolveWait(local('2026-12-24T18:00'), until('09:00', WEEKDAYS_ONLY), ctx).toISO()).toBe('2026-12-28T09:00:00.000-06:00');
    // A wait for a duration is not moved by a holiday: it is the email after it that waits (nextOpening).
    expect(resolveWait(local('2026-12-24T09:00'), { kind: 'for', duration: dur('1 day') }, ctx).toISO()).toBe('2026-12-25T09:00:00.000-06:00');
    expect(nextOpening(local('2026-12-25T09:00'), undefined, ctx).toISO()).toBe('2026-12-26T00:00:00.000-06:00');
  });

  it('moves a time in the spring-forward gap to the end of the gap', () => {
    expect(resolveWait(local('2026-03-08T00:10'), until('02:30'), CHICAGO).toISO()).toBe('2026-03-08T03:00:00.000-05:00');
    expect(resolveWait(local('2026-03-08T03:10'), until('02:30'), CHICAGO).toISO()).toBe('2026-03-09T02:30:00.000-05:00');
  });

  it('takes the next occurrence of a repeated fall-back time', () => {
    const first = resolveWait(DateTime.fromISO('2026-11-01T00:10-05:00'), until('01:30'), CHICAGO);
    expect(first.toISO()).toBe('2026-11-01T01:30:00.000-05:00');
    const second = resolveWait(DateTime.fromISO('2026-11-01T01:45-05:00'), until('01:30'), CHICAGO);
    expect(second.toISO()).toBe('2026-11-01T01:30:00.000-06:00');
  });

  it('rejects a malformed time and a wait that never comes', () => {
    expect(() => resolveWait(local('2026-05-01T10:00'), until('25:00'), CHICAGO)).toThrow(/"25:00" is not a time of day/);
    const all = Array.from({ length: 900 }, (_, i) => local('2026-05-01').plus({ days: i }).toISODate()!);
    expect(() => resolveWait(local('2026-05-01T10:00'), until('09:30'), ctxOf('America/Chicago', all))).toThrow(/never comes/);
  });
});

describe('isInWindow', () => {
  it('is open on listed days between from (inclusive) and to (exclusive)', () => {
    expect(isInWindow(local('2026-05-04T09:00'), OFFICE, CHICAGO)).toBe(true);
    expect(isInWindow(local('2026-05-04T16:59:59.999'), OFFICE, CHICAGO)).toBe(true);
    expect(isInWindow(local('2026-05-04T17:00'), OFFICE, CHICAGO)).toBe(false);
    expect(isInWindow(local('2026-05-04T08:59:59.999'), OFFICE, CHICAGO)).toBe(false);
    expect(isInWindow(local('2026-05-02T10:00'), OFFICE, CHICAGO)).toBe(false);
  });

  it('closes on holidays', () => {
    expect(isInWindow(local('2026-05-04T10:00'), OFFICE, ctxOf('America/Chicago', ['2026-05-04']))).toBe(false);
  });

  it('reads the wall clock in the contact zone', () => {
    // 15:00 UTC is 10:00 in Chicago (inside) and 00:00 next day in Tokyo (outside).
    const at = DateTime.fromISO('2026-05-04T15:00:00Z');
    expect(isInWindow(at, OFFICE, CHICAGO)).toBe(true);
    expect(isInWindow(at, OFFICE, ctxOf('Asia/Tokyo'))).toBe(false);
  });

  it('handles windows that cross midnight, belonging to the day they open', () => {
    const night: SendWindow = { days: ['fri'], from: '20:00', to: '08:00' };
    expect(isInWindow(local('2026-05-08T19:59'), night, CHICAGO)).toBe(false);
    expect(isInWindow(local('2026-05-08T20:00'), night, CHICAGO)).toBe(true);
    expect(isInWindow(local('2026-05-09T07:59'), night, CHICAGO)).toBe(true); // Saturday morning
    expect(isInWindow(local('2026-05-09T08:00'), night, CHICAGO)).toBe(false);
    expect(isInWindow(local('2026-05-09T21:00'), night, CHICAGO)).toBe(false); // Saturday evening: not listed
    expect(isInWindow(local('2026-05-08T07:00'), night, CHICAGO)).toBe(false); // Friday morning belongs to Thursday
    // A holiday closes its own date only: Friday evening stays open when Saturday is a holiday.
    const satHoliday = ctxOf('America/Chicago', ['2026-05-09']);
    expect(isInWindow(local('2026-05-08T22:00'), night, satHoliday)).toBe(true);
    expect(isInWindow(local('2026-05-09T01:00'), night, satHoliday)).toBe(false);
  });

  it('treats from == to as the whole day', () => {
    const allDay: SendWindow = { days: ['mon'], from: '00:00', to: '00:00' };
    expect(isInWindow(local('2026-05-04T00:00'), allDay, CHICAGO)).toBe(true);
    expect(isInWindow(local('2026-05-04T23:59'), allDay, CHICAGO)).toBe(true);
    expect(isInWindow(local('2026-05-05T00:00'), allDay, CHICAGO)).toBe(false);
  });
});

describe('nextOpening', () => {
  it('returns at itself when open', () => {
    expect(nextOpening(local('2026-05-04T10:00'), OFFICE, CHICAGO).toISO()).toBe('2026-05-04T10:00:00.000-05:00');
  });

  it('moves to the next opening', () => {
    expect(nextOpening(local('2026-05-04T17:00'), OFFICE, CHICAGO).toISO()).toBe('2026-05-05T09:00:00.000-05:00');
    expect(nextOpening(local('2026-05-08T18:00'), OFFICE, CHICAGO).toISO()).toBe('2026-05-11T09:00:00.000-05:00');
    expect(nextOpening(local('2026-05-04T06:00'), OFFICE, CHICAGO).toISO()).toBe('2026-05-04T09:00:00.000-05:00');
  });

  it('skips holidays', () => {
    const ctx = ctxOf('America/Chicago', ['2026-12-25']);
    expect(nextOpening(local('2026-12-24T18:00'), OFFICE, ctx).toISO()).toBe('2026-12-28T09:00:00.000-06:00');
  });

  it('without a window, only holidays close: a holiday moves to the next non-holiday midnight', () => {
    const ctx = ctxOf('America/Chicago', ['2026-12-25', '2026-12-26']);
    expect(nextOpening(local('2026-12-24T23:00'), undefined, ctx).toISO()).toBe('2026-12-24T23:00:00.000-06:00');
    expect(nextOpening(local('2026-12-25T10:00'), undefined, ctx).toISO()).toBe('2026-12-27T00:00:00.000-06:00');
  });

  it('opens a crossing window at its start, and inside its after-midnight part', () => {
    const night: SendWindow = { days: ['fri'], from: '20:00', to: '08:00' };
    expect(nextOpening(local('2026-05-09T09:00'), night, CHICAGO).toISO()).toBe('2026-05-15T20:00:00.000-05:00');
    expect(nextOpening(local('2026-05-09T03:00'), night, CHICAGO).toISO()).toBe('2026-05-09T03:00:00.000-05:00');
  });

  it('opens at the end of the DST gap when the window starts inside it', () => {
    const w: SendWindow = { days: ['sun'], from: '02:30', to: '05:00' };
    expect(nextOpening(local('2026-03-08T01:00'), w, CHICAGO).toISO()).toBe('2026-03-08T03:00:00.000-05:00');
  });

  it('reopens in the repeated hour after fall back', () => {
    // 00:00–01:30 closes at 01:30 CDT; the clock then goes back to 01:00 CST, inside again.
    const w: SendWindow = { days: ['sun'], from: '00:00', to: '01:30' };
    expect(nextOpening(DateTime.fromISO('2026-11-01T01:30-05:00'), w, CHICAGO).toISO()).toBe('2026-11-01T01:00:00.000-06:00');
  });

  it('throws when the window can never open', () => {
    expect(() => nextOpening(local('2026-05-04T10:00'), { days: [], from: '09:00', to: '17:00' }, CHICAGO)).toThrow(/never opens/);
    const all = Array.from({ length: 900 }, (_, i) => local('2026-05-01').plus({ days: i }).toISODate()!);
    expect(() => nextOpening(local('2026-05-04T10:00'), OFFICE, ctxOf('America/Chicago', all))).toThrow(/never opens in the 800 days/);
    expect(() => nextOpening(local('2026-05-04T10:00'), undefined, ctxOf('America/Chicago', all))).toThrow(/never opens/);
  });
});

describe('applyCaps', () => {
  it('moves a send 22 h on when 1/day was used 2 h ago, then into the window', () => {
    const at = local('2026-06-10T10:00');
    const r = applyCaps(at, [at.minus({ hours: 2 })], { perDay: 1 }, OFFICE, CHICAGO);
    // 22 h later is Thu 08:00, before the window opens.
    expect(r.at.toISO()).toBe('2026-06-11T09:00:00.000-05:00');
    expect(r.reason).toBe('frequency_cap');

    const afternoon = local('2026-06-10T15:00');
    const r2 = applyCaps(afternoon, [afternoon.minus({ hours: 2 })], { perDay: 1 }, OFFICE, CHICAGO);
    expect(r2.at.toISO()).toBe('2026-06-11T13:00:00.000-05:00');
    expect(r2.reason).toBe('frequency_cap');
  });

  it('says send_window when only the window moved it, null when nothing did', () => {
    const r = applyCaps(local('2026-06-10T18:00'), [], { perDay: 1 }, OFFICE, CHICAGO);
    expect(r).toMatchObject({ reason: 'send_window' });
    expect(r.at.toISO()).toBe('2026-06-11T09:00:00.000-05:00');
    expect(applyCaps(local('2026-06-10T10:00'), [], undefined, OFFICE, CHICAGO).reason).toBeNull();
  });

  it('counts a rolling week', () => {
    const at = local('2026-06-10T10:00');
    const sent = [1, 2, 3].map((d) => at.minus({ days: d }));
    const r = applyCaps(at, sent, { perWeek: 3 }, undefined, CHICAGO);
    // The oldest (3 days ago) drops out of the 7-day window 4 days from now.
    expect(r.at.toISO()).toBe('2026-06-14T10:00:00.000-05:00');
    expect(r.reason).toBe('frequency_cap');
  });

  it('rejects caps that could never let a send through', () => {
    expect(() => applyCaps(local('2026-06-10T10:00'), [], { perDay: 0 }, undefined, CHICAGO)).toThrow(RangeError);
  });
});

describe('parseTimeOfDay', () => {
  it.each([
    ['09:30', { hour: 9, minute: 30 }],
    ['9:30', { hour: 9, minute: 30 }],
    ['17:00', { hour: 17, minute: 0 }],
    ['00:00', { hour: 0, minute: 0 }],
    ['23:59', { hour: 23, minute: 59 }],
  ])('%j', (s, t) => expect(parseTimeOfDay(s)).toEqual(t));

  it.each(['24:00', '9:7', '25:00', '12:60', '9', 'noon', '', '09:30:00', '-1:00'])('rejects %j', (s) => {
    expect(parseTimeOfDay(s)).toBeNull();
  });
});

describe('expandDays', () => {
  it.each([
    ['weekdays', ['mon', 'tue', 'wed', 'thu', 'fri']],
    ['Weekends', ['sat', 'sun']],
    ['every day', WEEKDAYS],
    ['daily', WEEKDAYS],
    ['mon, wed, fri', ['mon', 'wed', 'fri']],
    ['Monday Friday', ['mon', 'fri']],
    ['mon-wed', ['mon', 'tue', 'wed']],
    ['fri-mon', ['mon', 'fri', 'sat', 'sun']],
    [['sun', 'MON', 'monday'], ['mon', 'sun']],
    [['weekends', 'wed'], ['wed', 'sat', 'sun']],
  ] as Array<[string | string[], Weekday[]]>)('%j', (spec, days) => {
    expect(expandDays(spec)).toEqual(days);
  });

  it.each([['funday'], [['mon', 'someday']], [''], [[]], ['mon-funday']] as Array<[string | string[]]>)('rejects %j', (spec) => {
    expect(expandDays(spec)).toHaveProperty('error');
  });

  it('names the bad day', () => {
    expect(expandDays('mon, funday')).toEqual({ error: expect.stringContaining('"funday"') });
  });
});

// ---------------------------------------------------------------------------------------------
// Properties.

const ZONES = [
  'America/Chicago',
  'America/New_York',
  'Europe/London',
  'Europe/Berlin',
  'Australia/Sydney',
  'Asia/Kolkata',
  'Pacific/Auckland',
  'America/Sao_Paulo',
  'UTC',
];
const CHANGE_DAYS = dstChangeDays(ZONES);

it('the fixtures include DST change days', () => {
  expect(CHANGE_DAYS['America/Chicago']).toHaveLength(6);
  expect(CHANGE_DAYS['Asia/Kolkata']).toHaveLength(0);
});

const timeArb = timeOfDayArb(['00:00', '01:30', '02:00', '02:30', '03:00', '09:00', '09:30', '17:00', '20:00', '23:59']);

/** A zone, an instant in 2026–2028 (often within a day or two of a DST change), and holidays near it. */
const scenarioArb = fc.constantFrom(...ZONES).chain((zone) => {
  const { uniform, nearChange } = instantNear(CHANGE_DAYS[zone]!);
  return fc.record({
    zone: fc.constant(zone),
    atMs: fc.oneof(uniform, nearChange, nearChange.map((t) => t - (t % MINUTE))),
    holidayOffsets: fc.array(fc.integer({ min: -1, max: 20 }), { maxLength: 4 }),
  });
});

function scenario(s: { zone: string; atMs: number; holidayOffsets: number[] }): { at: DateTime; ctx: TimeContext } {
  const at = DateTime.fromMillis(s.atMs, { zone: s.zone });
  const holidays = s.holidayOffsets.map((d) => at.plus({ days: d }).toISODate()!);
  return { at, ctx: ctxOf(s.zone, holidays) };
}

const partsArb: fc.Arbitrary<CalendarParts> = fc
  .record(
    {
      years: fc.integer({ min: 0, max: 1 }),
      months: fc.integer({ min: 0, max: 14 }),
      weeks: fc.integer({ min: 0, max: 3 }),
      days: fc.integer({ min: 0, max: 10 }),
      hours: fc.integer({ min: 0, max: 30 }),
      minutes: fc.integer({ min: 0, max: 90 }),
      seconds: fc.integer({ min: 0, max: 90 }),
    },
    { requiredKeys: [] },
  )
  .filter((p) => Object.values(p).some((v) => v > 0));

const durationArb: fc.Arbitrary<DurationSpec> = fc.oneof(
  partsArb.map((parts): DurationSpec => {
    const spec: DurationSpec = { kind: 'calendar', parts, text: '' };
    return { ...spec, text: formatDuration(spec) };
  }),
  fc.integer({ min: 1, max: 12 }).map((days): DurationSpec => ({ kind: 'business_days', days, text: `${days} business days` })),
);

const daysArb = fc.subarray([...WEEKDAYS], { minLength: 1 });

const waitArb: fc.Arbitrary<WaitSpec> = fc.oneof(
  durationArb.map((duration): WaitSpec => ({ kind: 'for', duration })),
  fc.record({ at: timeArb, on: fc.subarray([...WEEKDAYS]) }).map(({ at, on }): WaitSpec => ({ kind: 'until', at, on })),
);

const windowArb: fc.Arbitrary<SendWindow> = fc.record({ days: daysArb, from: timeArb, to: timeArb });

/** Whether the wall time exists on that local date (luxon moves a time in a DST gap forward). */
function wallTimeExists(day: DateTime, hhmm: string): boolean {
  const t = parseTimeOfDay(hhmm)!;
  const dt = day.set({ hour: t.hour, minute: t.minute, second: 0, millisecond: 0 });
  return dt.hour === t.hour && dt.minute === t.minute;
}

/** Zones whose clocks jump: an hour at night, at midnight (Santiago, Havana), half an hour (Lord Howe), on a Friday (Jerusalem). */
const GAP_ZONES = ['America/Chicago', 'Europe/London', 'Australia/Sydney', 'Pacific/Auckland', 'Asia/Jerusalem', 'Australia/Lord_Howe', 'America/Santiago', 'America/Havana'];
const GAP_CHANGE_DAYS = dstChangeDays(GAP_ZONES);
const gapTimeArb = timeOfDayArb(['00:00', '00:30', '01:00', '01:30', '02:00', '02:15', '02:30', '02:59', '03:00', '23:30']);

/**
 * The oracle, by brute force over the minutes: the first instant whose local date is `date`'s
 * (year, month, day) and whose wall clock shows `hhmm` or later. That is `hhmm` itself when it
 * exists (its first occurrence when it happens twice), else the first instant after the gap.
 */
function firstAtOrAfter(zone: string, date: DateTime, hhmm: string): DateTime {
  const t = parseTimeOfDay(hhmm)!;
  // The memoising zone answers exactly as the IANA zone does (zones.test.ts), fast enough to scan.
  const iana = zoneNamed(zone);
  // The local date and wall time of an instant, as the UTC instant with that date and time.
  const wall = Date.UTC(date.year, date.month - 1, date.day, t.hour, t.minute);
  const localOf = (ms: number) => ms + iana.offset(ms) * MINUTE;
  let ms = wall - Math.max(iana.offset(wall - 36 * HOUR), iana.offset(wall + 36 * HOUR)) * MINUTE - 3 * HOUR;
  while (localOf(ms) < wall) ms += MINUTE;
  return DateTime.fromMillis(ms, { zone });
}

/** Every wall minute the clocks skip in GAP_ZONES over the range: (zone, local date, "HH:MM"). */
function skippedMinutes(): { zone: string; date: number; hhmm: string }[] {
  const out: { zone: string; date: number; hhmm: string }[] = [];
  for (const zone of GAP_ZONES) {
    const z = zoneNamed(zone);
    for (const day of GAP_CHANGE_DAYS[zone]!) {
      let lo = day;
      let hi = day + DAY;
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (z.offset(mid) === z.offset(lo)) lo = mid;
        else hi = mid;
      }
      const jump = z.offset(hi) - z.offset(lo);
      for (let k = 0; k < jump; k++) {
        const wall = DateTime.fromMillis(hi + z.offset(lo) * MINUTE + k * MINUTE, { zone: 'utc' });
        out.push({ zone, date: wall.startOf('day').toMillis(), hhmm: wall.toFormat('HH:mm') });
      }
    }
  }
  return out;
}

function threeHoursAfter(hhmm: string): string {
  const t = parseTimeOfDay(hhmm)!;
  return `${String((t.hour + 3) % 24).padStart(2, '0')}:${String(t.minute).padStart(2, '0')}`;
}

describe('one rule for a local time in a DST gap', () => {
  it('a day, a business day, until and a window all land on the first instant after the gap, and on the time itself otherwise', () => {
    const skipped = skippedMinutes();
    const near = fc.constantFrom(...GAP_ZONES).chain((zone) =>
      fc.record({
        zone: fc.constant(zone),
        date: fc.tuple(fc.constantFrom(...GAP_CHANGE_DAYS[zone]!), fc.integer({ min: -1, max: 2 })).map(([day, shift]) => day + shift * DAY),
        hhmm: gapTimeArb,
      }),
    );
    const arb = fc.oneof(near, fc.constantFrom(...skipped));
    let inGap = 0;
    fc.assert(
      fc.property(arb, ({ zone, date: dateMs, hhmm }) => {
        const ctx = ctxOf(zone);
        const date = DateTime.fromMillis(dateMs, { zone: 'utc' });
        const expected = firstAtOrAfter(zone, date, hhmm);
        const before = firstAtOrAfter(zone, date.minus({ days: 1 }), hhmm);
        // Start from the same wall time the day before, when it exists.
        fc.pre(before.toFormat('HH:mm') === hhmm && before.toISODate() === date.minus({ days: 1 }).toISODate());
        if (expected.toFormat('HH:mm') !== hhmm) inGap++;

        expect(addDuration(before, dur('1 day'), ctx).toISO()).toBe(expected.toISO());
        // Weeks and days together are counted on the calendar the same way, from eight days before.
        const weekBefore = firstAtOrAfter(zone, date.minus({ days: 8 }), hhmm);
        if (weekBefore.toFormat('HH:mm') === hhmm && weekBefore.toISODate() === date.minus({ days: 8 }).toISODate()) {
          expect(addDuration(weekBefore, dur('1 week 1 day'), ctx).toISO()).toBe(expected.toISO());
        }
        // `until` counts each occurrence of a repeated time: wait from the last one that day.
        const repeated = [before.plus({ hours: 1 }), before.plus({ minutes: 30 })].find((x) => x.toFormat('yyyy-MM-dd HH:mm') === before.toFormat('yyyy-MM-dd HH:mm'));
        expect(resolveWait(repeated ?? before, { kind: 'until', at: hhmm, on: [] }, ctx).toISO()).toBe(expected.toISO());
        const window: SendWindow = { days: [...WEEKDAYS], from: hhmm, to: threeHoursAfter(hhmm) };
        expect(nextOpening(expected.minus(1), window, ctx).toISO()).toBe(expected.toISO());
        if (date.weekday <= 5) expect(addDuration(before, dur('1 business day'), ctx).toISO()).toBe(expected.toISO());
      }),
      { numRuns: 400 },
    );
    // The generators do reach the gaps (about half the runs).
    expect(inGap).toBeGreaterThan(100);
  });
});

describe('properties', () => {
  it('resolveWait lands after from, by at least the duration lower bound, in the contact zone', () => {
    fc.assert(
      fc.property(scenarioArb, waitArb, (s, wait) => {
        const { at, ctx } = scenario(s);
        const out = resolveWait(at, wait, ctx);
        expect(out.toMillis()).toBeGreaterThan(at.toMillis());
        expect(out.zoneName).toBe(ctx.zone);
        if (wait.kind === 'for') {
          expect(out.toMillis() - at.toMillis()).toBeGreaterThanOrEqual(durationLowerBoundMs(wait.duration));
        } else {
          expect(ctx.holidays.has(out.toISODate()!)).toBe(false);
          if (wait.on.length > 0) expect(wait.on).toContain(WEEKDAYS[out.weekday - 1]);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('a business-day wait lands on a business day at the same wall time when it exists', () => {
    fc.assert(
      fc.property(scenarioArb, fc.integer({ min: 1, max: 10 }), (s, days) => {
        const { at, ctx } = scenario(s);
        const out = addDuration(at, { kind: 'business_days', days, text: '' }, ctx);
        expect(out.weekday).toBeLessThanOrEqual(5);
        expect(ctx.holidays.has(out.toISODate()!)).toBe(false);
        const wall = at.toFormat('HH:mm');
        if (wallTimeExists(out, wall)) expect(out.toFormat('HH:mm:ss.SSS')).toBe(at.toFormat('HH:mm:ss.SSS'));
        // WORKDAY: business days after the start date up to and including the landing date are
        // exactly `days`, whatever day the count starts from.
        let count = 0;
        for (let d = at.startOf('day').plus({ days: 1 }); d <= out; d = d.plus({ days: 1 })) {
          if (d.weekday <= 5 && !ctx.holidays.has(d.toISODate()!)) count++;
        }
        expect(count).toBe(days);
      }),
      { numRuns: 300 },
    );
  });

  it('until HH:MM lands on HH:MM local, or just after the gap when HH:MM does not exist that day', () => {
    fc.assert(
      fc.property(scenarioArb, timeArb, fc.subarray([...WEEKDAYS]), (s, hhmm, on) => {
        const { at, ctx } = scenario(s);
        const out = resolveWait(at, { kind: 'until', at: hhmm, on }, ctx);
        if (wallTimeExists(out, hhmm)) {
          expect(out.toFormat('HH:mm:ss.SSS')).toBe(`${hhmm}:00.000`);
        } else {
          // First instant after the gap: the wall clock just jumped past HH:MM.
          expect(out.toFormat('HH:mm') > hhmm).toBe(true);
          expect(out.minus(1).toFormat('HH:mm') < hhmm).toBe(true);
        }
        // No qualifying day was skipped: HH:MM on the day before, if allowed and real, is not after from.
        const dayBefore = out.minus({ days: 1 });
        const allowed = (d: DateTime) =>
          (on.length === 0 || on.includes(WEEKDAYS[d.weekday - 1]!)) && !ctx.holidays.has(d.toISODate()!);
        if (allowed(dayBefore) && wallTimeExists(dayBefore, hhmm)) {
          const t = parseTimeOfDay(hhmm)!;
          const skipped = dayBefore.set({ hour: t.hour, minute: t.minute, second: 0, millisecond: 0 });
          expect(skipped.toMillis()).toBeLessThanOrEqual(at.toMillis());
        }
      }),
      { numRuns: 400 },
    );
  });

  it('nextOpening is open, not before at, and nothing between at and it is open', () => {
    fc.assert(
      fc.property(scenarioArb, windowArb, (s, w) => {
        const { at, ctx } = scenario(s);
        const out = nextOpening(at, w, ctx);
        expect(isInWindow(out, w, ctx)).toBe(true);
        expect(out.toMillis()).toBeGreaterThanOrEqual(at.toMillis());
        if (out.toMillis() > at.toMillis()) {
          expect(isInWindow(at, w, ctx)).toBe(false);
          expect(isInWindow(out.minus(1), w, ctx)).toBe(false);
        }
        // Window edges, midnights and DST transitions all fall on whole minutes, so if anything in
        // [at, out) were open, `at` or some whole minute in it would be.
        if (out.toMillis() - at.toMillis() <= 2 * DAY) {
          for (let t = Math.ceil(at.toMillis() / MINUTE) * MINUTE; t < out.toMillis(); t += MINUTE) {
            if (isInWindow(DateTime.fromMillis(t, { zone: ctx.zone }), w, ctx)) throw new Error(`open earlier at ${DateTime.fromMillis(t, { zone: ctx.zone }).toISO()}`);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('nextOpening without a window only avoids holidays', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const { at, ctx } = scenario(s);
        const out = nextOpening(at, undefined, ctx);
        expect(ctx.holidays.has(out.toISODate()!)).toBe(false);
        if (!ctx.holidays.has(at.toISODate()!)) expect(out.toMillis()).toBe(at.toMillis());
        else expect(ctx.holidays.has(out.minus(1).toISODate()!)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  const capsArb: fc.Arbitrary<FrequencyCap | undefined> = fc.option(
    fc.record({ perDay: fc.integer({ min: 1, max: 3 }), perWeek: fc.integer({ min: 1, max: 8 }) }, { requiredKeys: [] }),
    { nil: undefined },
  );

  it('applyCaps lands in the window, not before at, within the caps, and as early as possible', () => {
    fc.assert(
      fc.property(
        scenarioArb,
        fc.option(windowArb, { nil: undefined }),
        capsArb,
        fc.array(fc.integer({ min: -8 * DAY, max: 2 * DAY }), { maxLength: 8 }),
        (s, w, caps, sentOffsets) => {
          const { at, ctx } = scenario(s);
          const sent = sentOffsets.map((o) => DateTime.fromMillis(at.toMillis() + o, { zone: 'UTC' }));
          const { at: out, reason } = applyCaps(at, sent, caps, w, ctx);
          const ok = (t: number) => {
            const dt = DateTime.fromMillis(t, { zone: ctx.zone });
            if (w ? !isInWindow(dt, w, ctx) : ctx.holidays.has(dt.toISODate()!)) return false;
            const count = (span: number) => sent.filter((x) => x.toMillis() > t - span && x.toMillis() <= t).length;
            return count(DAY) < (caps?.perDay ?? Infinity) && count(7 * DAY) < (caps?.perWeek ?? Infinity);
          };
          expect(out.toMillis()).toBeGreaterThanOrEqual(at.toMillis());
          expect(ok(out.toMillis())).toBe(true);
          expect(reason === null).toBe(out.toMillis() === at.toMillis());
          // Open times are unions of [start, end) intervals, so the earliest one is at or a left edge.
          if (out.toMillis() > at.toMillis()) expect(ok(out.toMillis() - 1)).toBe(false);
          if (reason === 'send_window') expect(out.toMillis()).toBe(nextOpening(at, w, ctx).toMillis());
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a chain of waits survives serialisation at every step', () => {
    fc.assert(
      fc.property(
        scenarioArb,
        fc.array(waitArb, { minLength: 1, maxLength: 5 }),
        fc.option(windowArb, { nil: undefined }),
        (s, waits, w) => {
          const { at, ctx } = scenario(s);
          const step = (from: DateTime, wait: WaitSpec) => nextOpening(resolveWait(from, wait, ctx), w, ctx);

          let inMemory = at;
          const oneGo: DateTime[] = waits.map((wait) => (inMemory = step(inMemory, wait)));

          let stored = at.toISO()!;
          let storedUtc = at.toUTC().toISO()!;
          const restarted = waits.map((wait) => {
            const next = step(DateTime.fromISO(stored, { setZone: true }), wait);
            const nextFromUtc = step(DateTime.fromISO(storedUtc, { setZone: true }), wait);
            expect(nextFromUtc.toMillis()).toBe(next.toMillis());
            stored = next.toISO()!;
            storedUtc = next.toUTC().toISO()!;
            return next;
          });

          expect(restarted.map((d) => d.toISO())).toEqual(oneGo.map((d) => d.toISO()));
        },
      ),
      { numRuns: 200 },
    );
  });
});
