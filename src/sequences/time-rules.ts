import { DateTime } from 'luxon';
import { zoneNamed } from './zones.js';
import type { Zone } from 'luxon';
import { WEEKDAYS } from './time-types.js';
import type { DurationSpec, FrequencyCap, SendWindow, TimeContext, WaitSpec, Weekday } from './time-types.js';
import { InternalError, RuleError } from '../errors.js';

/**
 * Time as a contact lives it: calendar arithmetic, waits, send windows and frequency caps, all in
 * the contact's zone. Pure: every instant comes in as an argument, nothing reads the clock.
 *
 * Rules shared by everything below:
 * - A holiday is a local date on which nothing goes out: it closes every instant of that date,
 *   with or without a send window, and it is never a business day.
 * - A local time that does not exist on a date (inside a spring-forward gap) means the first
 *   instant after the gap: 02:30 on 2026-03-08 in America/Chicago is 03:00 CDT. That is the instant
 *   a window opening at 02:30 really opens (the clock jumps from 01:59:59 to 03:00, already past
 *   02:30), so `until 02:30`, a window from 02:30, and a wait of days, weeks, months or business
 *   days that ends at 02:30 all give 03:00. luxon's own normalisation would shift by the gap's
 *   length instead (03:30); nothing here uses it: every (date, wall time) goes through localInstants.
 * - A local time that happens twice (fall back) happens twice: `until` and windows count each
 *   occurrence; a wait of days lands on the earlier one.
 * - Searches give up after MAX_SEARCH_DAYS and throw, so a window or wait that can never be met
 *   (no days, or every day a holiday) fails loudly instead of looping.
 */

export type CapReason = 'frequency_cap' | 'send_window';
export interface CappedSend {
  at: DateTime;
  reason: CapReason | null;
}
export interface TimeOfDayParts {
  hour: number;
  minute: number;
}

/** A little over two years: enough for any real calendar, small enough to fail fast. */
export const MAX_SEARCH_DAYS = 800;

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
const WEEK_MS = 7 * DAY_MS;

// ---------------------------------------------------------------------------------------------
// Local dates as day numbers (days since 1970-01-01), so date arithmetic never touches a zone.

function localDay(local: DateTime): number {
  return Date.UTC(local.year, local.month - 1, local.day) / DAY_MS;
}

function isoDate(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

function weekdayOf(day: number): Weekday {
  // Day 0 (1970-01-01) was a Thursday, index 3 in WEEKDAYS.
  return WEEKDAYS[(((day + 3) % 7) + 7) % 7]!;
}

function isHolidayDay(day: number, ctx: TimeContext): boolean {
  return ctx.holidays.has(isoDate(day));
}

/** Milliseconds since local midnight as shown on the wall clock (not elapsed time). */
function wallMs(local: DateTime): number {
  return ((local.hour * 60 + local.minute) * 60 + local.second) * 1000 + local.millisecond;
}

function inZone(dt: DateTime, ctx: TimeContext): DateTime {
  if (!dt.isValid) throw new InternalError(`Invalid instant: ${dt.invalidExplanation ?? dt.invalidReason ?? 'unknown'}`);
  const local = dt.setZone(zoneNamed(ctx.zone));
  if (!local.isValid) throw new RuleError(`"${ctx.zone}" is not an IANA time zone (e.g. "America/Chicago")`);
  return local;
}

// ---------------------------------------------------------------------------------------------
// Turning (local date, wall time) into instants without luxon's fromObject, whose guess for an
// ambiguous time depends on today's offset (it reads the clock).

/** The instant where the zone's offset changes, somewhere in (lo, hi]; offsets differ at the ends. */
function findTransition(zone: Zone, lo: number, hi: number): number {
  const before = zone.offset(lo);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (zone.offset(mid) === before) lo = mid;
    else hi = mid;
  }
  return hi;
}

/**
 * Every instant whose local date is `day` and wall time is `msOfDay`, ascending: one usually,
 * two in a fall-back overlap, and in a spring-forward gap the first instant after the gap. The
 * one place a wall time becomes an instant (see the rules above).
 */
function localInstants(zone: Zone, day: number, msOfDay: number): number[] {
  const wall = day * DAY_MS + msOfDay;
  // Real offsets lie within -12 h..+14 h, so any valid instant is within this span of `wall`.
  const offsets = new Set([zone.offset(wall - 15 * HOUR_MS), zone.offset(wall), zone.offset(wall + 13 * HOUR_MS)]);
  for (const o of [...offsets]) offsets.add(zone.offset(wall - o * MINUTE_MS));
  const valid = [...offsets]
    .map((o) => wall - o * MINUTE_MS)
    .filter((utc) => zone.offset(utc) * MINUTE_MS === wall - utc)
    .sort((a, b) => a - b);
  if (valid.length > 0) return [...new Set(valid)];
  const lo = wall - Math.max(...offsets) * MINUTE_MS;
  const hi = wall - Math.min(...offsets) * MINUTE_MS;
  return [zone.offset(lo) === zone.offset(hi) ? hi : findTransition(zone, lo, hi)];
}

function dayStart(zone: Zone, day: number): number {
  return localInstants(zone, day, 0)[0]!;
}

/**
 * The instant a date and wall time of the contact's zone mean: the earlier of two in a fall-back
 * overlap, the first instant after the gap when the clock skips it.
 */
export function atLocalTime(date: { year: number; month: number; day: number }, time: TimeOfDayParts, ctx: TimeContext): DateTime {
  const zone = zoneNamed(ctx.zone);
  const day = Date.UTC(date.year, date.month - 1, date.day) / DAY_MS;
  return DateTime.fromMillis(localInstants(zone, day, (time.hour * 60 + time.minute) * MINUTE_MS)[0]!, { zone });
}

/** Offset changes in [start, end); sampling every 6 h is finer than any real pair of transitions. */
function transitionsIn(zone: Zone, start: number, end: number): number[] {
  const found: number[] = [];
  let prev = start;
  while (prev < end) {
    const next = Math.min(prev + 6 * HOUR_MS, end);
    if (zone.offset(prev) !== zone.offset(next)) found.push(findTransition(zone, prev, next));
    prev = next;
  }
  return found.filter((t) => t < end);
}

// ---------------------------------------------------------------------------------------------
// Parsing helpers.

export function parseTimeOfDay(s: string): TimeOfDayParts | null {
  const m = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(s.trim());
  return m ? { hour: Number(m[1]), minute: Number(m[2]) } : null;
}

function minuteOfDay(s: string, what: string): number {
  const t = parseTimeOfDay(s);
  if (!t) throw new RuleError(`${what} "${s}" is not a time of day (use HH:MM, 24-hour, e.g. "09:30")`);
  return t.hour * 60 + t.minute;
}

const DAY_NAMES: Readonly<Record<string, Weekday>> = {
  mon: 'mon', monday: 'mon', mondays: 'mon',
  tue: 'tue', tues: 'tue', tuesday: 'tue', tuesdays: 'tue',
  wed: 'wed', weds: 'wed', wednesday: 'wed', wednesdays: 'wed',
  thu: 'thu', thur: 'thu', thurs: 'thu', thursday: 'thu', thursdays: 'thu',
  fri: 'fri', friday: 'fri', fridays: 'fri',
  sat: 'sat', saturday: 'sat', saturdays: 'sat',
  sun: 'sun', sunday: 'sun', sundays: 'sun',
};

const DAY_ALIASES: Readonly<Record<string, readonly Weekday[]>> = {
  weekdays: ['mon', 'tue', 'wed', 'thu', 'fri'],
  weekday: ['mon', 'tue', 'wed', 'thu', 'fri'],
  weekends: ['sat', 'sun'],
  weekend: ['sat', 'sun'],
  'every day': WEEKDAYS,
  everyday: WEEKDAYS,
  daily: WEEKDAYS,
};

const DAYS_HINT = 'use mon..sun, "mon-fri", "weekdays", "weekends" or "every day"';

/**
 * "weekdays", "weekends", "every day"/"daily", "mon, wed, fri", "mon-fri", "Monday", or an array
 * of any of these. Returns the days in week order without repeats. An empty list is an error: a
 * marketer who lists no days has forgotten them (callers that mean "every day" say so).
 */
export function expandDays(spec: string | string[]): Weekday[] | { error: string } {
  const items = (Array.isArray(spec) ? spec : [spec]).flatMap((item) => {
    const lower = item.trim().toLowerCase().replace(/\s+/g, ' ');
    return DAY_ALIASES[lower] ? [lower] : lower.split(/\s*,\s*|\s+and\s+|\s+/);
  });
  const chosen = new Set<Weekday>();
  for (const item of items.filter((i) => i !== '')) {
    const alias = DAY_ALIASES[item];
    if (alias) {
      alias.forEach((d) => chosen.add(d));
      continue;
    }
    const range = /^([a-z]+)\s*-\s*([a-z]+)$/.exec(item);
    if (range) {
      const a = DAY_NAMES[range[1]!];
      const b = DAY_NAMES[range[2]!];
      if (!a || !b) return { error: `"${item}" is not a range of days (${DAYS_HINT})` };
      // Ranges may wrap the week: "fri-mon" is fri, sat, sun, mon.
      for (let i = WEEKDAYS.indexOf(a); ; i = (i + 1) % 7) {
        chosen.add(WEEKDAYS[i]!);
        if (WEEKDAYS[i] === b) break;
      }
      continue;
    }
    const day = DAY_NAMES[item];
    if (!day) return { error: `"${item}" is not a day (${DAYS_HINT})` };
    chosen.add(day);
  }
  if (chosen.size === 0) return { error: `No days given (${DAYS_HINT})` };
  return WEEKDAYS.filter((d) => chosen.has(d));
}

// ---------------------------------------------------------------------------------------------
// Durations and waits.

function isBusinessDay(day: number, ctx: TimeContext): boolean {
  const wd = weekdayOf(day);
  return wd !== 'sat' && wd !== 'sun' && !isHolidayDay(day, ctx);
}

/**
 * Calendar parts go through luxon in the contact's zone: months clamp to the month's last day
 * (Jan 31 + 1 month = Feb 28/29), days and weeks keep the wall-clock time across DST (a day is
 * 23 or 25 h then), hours, minutes and seconds are exact elapsed time.
 *
 * Business days skip Saturdays, Sundays and holidays and keep the wall-clock time. They count
 * like a spreadsheet's WORKDAY and every date library: the N-th business day after `from`'s date,
 * whatever day `from` is. Friday, Saturday and Sunday 10:00 + 1 are all Monday 10:00; a holiday
 * Friday + 1 is Monday too.
 */
export function addDuration(from: DateTime, d: DurationSpec, ctx: TimeContext): DateTime {
  const local = inZone(from, ctx);
  // The same wall time on another date, by the one rule for gaps and overlaps.
  const sameWallTime = (day: number) => DateTime.fromMillis(localInstants(local.zone, day, wallMs(local))[0]!, { zone: local.zone });
  if (d.kind === 'calendar') {
    const { years, months, weeks, days, hours, minutes, seconds } = d.parts;
    const exactMs = (hours ?? 0) * HOUR_MS + (minutes ?? 0) * MINUTE_MS + (seconds ?? 0) * 1000;
    if (!years && !months && !weeks && !days) return local.plus(exactMs);
    // Date arithmetic on the wall calendar (UTC has no DST; months clamp: Jan 31 + 1 month = Feb 28),
    // then the wall time on that date, then the time part as elapsed time, as luxon orders them.
    // Weeks and days alone are whole days, counted on the day number: this runs for every
    // enrollment of a burst, and luxon's calendar arithmetic was a tenth of a wake-up's CPU.
    const day =
      years || months
        ? localDay(DateTime.utc(local.year, local.month, local.day).plus({ years: years ?? 0, months: months ?? 0, weeks: weeks ?? 0, days: days ?? 0 }))
        : localDay(local) + (weeks ?? 0) * 7 + (days ?? 0);
    const at = sameWallTime(day);
    return exactMs ? at.plus(exactMs) : at;
  }

  const start = localDay(local);
  let offset = 0;
  let idle = 0;
  // One plus() over the whole span, never day by day: a gap on some day in between must not
  // drag the wall time of every later day.
  const step = () => {
    offset += 1;
    idle = isBusinessDay(start + offset, ctx) ? 0 : idle + 1;
    if (idle > MAX_SEARCH_DAYS) {
      throw new RuleError(`No business day in the ${MAX_SEARCH_DAYS} days after ${isoDate(start + offset - idle)} in ${ctx.zone}: check the holiday list`);
    }
  };
  for (let i = 0; i < d.days; i++) {
    do step();
    while (!isBusinessDay(start + offset, ctx));
  }
  return sameWallTime(start + offset);
}

/**
 * `for`: addDuration. `until HH:MM on [days]`: the first instant strictly after `from` whose local
 * time is HH:MM on an allowed weekday (none listed = every day) that is not a holiday.
 */
export function resolveWait(from: DateTime, w: WaitSpec, ctx: TimeContext): DateTime {
  if (w.kind === 'for') return addDuration(from, w.duration, ctx);
  const local = inZone(from, ctx);
  const at = minuteOfDay(w.at, 'Wait until');
  const allowed = new Set<Weekday>(w.on.length === 0 ? WEEKDAYS : w.on);
  const fromMs = local.toMillis();
  const first = localDay(local);
  for (let day = first; day <= first + MAX_SEARCH_DAYS; day++) {
    if (!allowed.has(weekdayOf(day)) || isHolidayDay(day, ctx)) continue;
    const hit = localInstants(local.zone, day, at * MINUTE_MS).find((t) => t > fromMs);
    if (hit !== undefined) return DateTime.fromMillis(hit, { zone: local.zone });
  }
  throw new RuleError(
    `Wait until ${w.at}${w.on.length ? ` on ${w.on.join(', ')}` : ''} never comes in the ${MAX_SEARCH_DAYS} days after ${local.toISO()}: every allowed day is a holiday`,
  );
}

// ---------------------------------------------------------------------------------------------
// Send windows and caps.

/**
 * Inside when the local date is not a holiday and the wall time is in [from, to) on a listed day.
 * A window with from > to crosses midnight and belongs to the day it opens: "fri 20:00–08:00"
 * covers Friday 20:00 to Saturday 08:00, whether or not Saturday is listed. from == to is the
 * whole day (there is no "24:00" to write instead).
 */
export function isInWindow(at: DateTime, w: SendWindow, ctx: TimeContext): boolean {
  const local = inZone(at, ctx);
  const day = localDay(local);
  if (isHolidayDay(day, ctx)) return false;
  const t = wallMs(local);
  const from = minuteOfDay(w.from, 'Send window start') * MINUTE_MS;
  const to = minuteOfDay(w.to, 'Send window end') * MINUTE_MS;
  const listed = (d: number) => w.days.includes(weekdayOf(d));
  if (from === to) return listed(day);
  if (from < to) return listed(day) && t >= from && t < to;
  return (t >= from && listed(day)) || (t < to && listed(day - 1));
}

function describeWindow(w: SendWindow | undefined): string {
  return w ? `The send window (${w.days.join(', ') || 'no days'} ${w.from}–${w.to})` : 'Sending';
}

/**
 * `at` itself when it is open, else the earliest later instant that is. Without a window every
 * instant is open except on holidays, so a holiday moves to the start of the next non-holiday.
 *
 * Open time is a union of intervals closed on the left, and the status can only change where the
 * wall clock passes a window's start, where the date changes, or where the offset jumps (a
 * fall-back can reopen a window that closed minutes ago). Checking those instants day by day, in
 * order, finds the earliest opening exactly, to the millisecond.
 */
export function nextOpening(at: DateTime, w: SendWindow | undefined, ctx: TimeContext): DateTime {
  const local = inZone(at, ctx);
  const open = (dt: DateTime) => (w ? isInWindow(dt, w, ctx) : !isHolidayDay(localDay(dt), ctx));
  if (open(local)) return local;

  const zone = local.zone;
  const atMs = local.toMillis();
  const first = localDay(local);
  const opensAt = w ? minuteOfDay(w.from, 'Send window start') : 0;
  if (!w || w.days.length > 0) {
    let start = dayStart(zone, first);
    for (let day = first; day <= first + MAX_SEARCH_DAYS; day++) {
      const end = dayStart(zone, day + 1);
      const candidates = [start, ...localInstants(zone, day, opensAt * MINUTE_MS), ...transitionsIn(zone, start, end)]
        .filter((t) => t > atMs)
        .sort((a, b) => a - b);
      for (const t of candidates) {
        const dt = DateTime.fromMillis(t, { zone });
        if (open(dt)) return dt;
      }
      start = end;
    }
  }
  throw new RuleError(
    `${describeWindow(w)} never opens in the ${MAX_SEARCH_DAYS} days after ${local.toISO()} in ${ctx.zone}: check its days and the holiday list`,
  );
}

function checkCap(name: string, n: number | undefined): void {
  if (n !== undefined && (!Number.isInteger(n) || n < 1)) {
    throw new RangeError(`Frequency cap ${name} must be a whole number of at least 1, got ${n}`);
  }
}

/**
 * Earliest t' >= t at which fewer than `limit` sends fall in (t' - span, t']. The oldest sends
 * leave first, and a send at s stops counting exactly at s + span.
 */
function earliestUnderCap(sorted: readonly number[], t: number, span: number, limit: number | undefined): number {
  if (limit === undefined) return t;
  const counted = sorted.filter((s) => s > t - span && s <= t);
  if (counted.length < limit) return t;
  return counted[counted.length - limit]! + span;
}

/**
 * The earliest instant >= `at` that is open (see nextOpening) and where one more send keeps the
 * rolling 24 h and 7-day counts of `sentAt` below the caps. Each round either settles or moves
 * past at least one send's expiry (there are at most two per send), so it always ends.
 * reason: 'frequency_cap' if a cap moved the send at all, else 'send_window' if opening hours or
 * a holiday did, else null.
 */
export function applyCaps(
  at: DateTime,
  sentAt: readonly DateTime[],
  caps: FrequencyCap | undefined,
  w: SendWindow | undefined,
  ctx: TimeContext,
): CappedSend {
  checkCap('perDay', caps?.perDay);
  checkCap('perWeek', caps?.perWeek);
  // The common case (no window, no holidays, nothing to count against) decides nothing.
  if (!w && ctx.holidays.size === 0 && (sentAt.length === 0 || (caps?.perDay === undefined && caps?.perWeek === undefined))) {
    return { at, reason: null };
  }
  const zone = inZone(at, ctx).zone;
  const sorted = sentAt.map((s) => s.toMillis()).sort((a, b) => a - b);
  let t = at.toMillis();
  let byWindow = false;
  let byCap = false;
  for (let round = 0; round <= 2 * sorted.length + 2; round++) {
    const opened = nextOpening(DateTime.fromMillis(t, { zone }), w, ctx).toMillis();
    if (opened !== t) byWindow = true;
    t = opened;
    const freed = Math.max(
      earliestUnderCap(sorted, t, DAY_MS, caps?.perDay),
      earliestUnderCap(sorted, t, WEEK_MS, caps?.perWeek),
    );
    if (freed === t) {
      return { at: DateTime.fromMillis(t, { zone }), reason: byCap ? 'frequency_cap' : byWindow ? 'send_window' : null };
    }
    t = freed;
    byCap = true;
  }
  throw new InternalError('applyCaps did not settle: this is a bug in Nurture, please report it');
}
