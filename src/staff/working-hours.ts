import { DateTime } from 'luxon';
import type { IsoWeekday, StaffUser, TeamDirectory } from './directory.js';

/**
 * When a staff user works: their weekly hours in their own zone, minus their teams' holidays.
 * Pure: every function takes the instant it reasons about. Local times a DST change skips are
 * moved forward by luxon, so a period starting at 02:30 on a spring-forward night starts at 03:30.
 */

export interface WorkingPeriod {
  start: DateTime;
  end: DateTime;
}

/** How far ahead to look for a working period before deciding the user never works (a year of holidays). */
const HORIZON_DAYS = 400;

/** The holidays (local dates) of every team the user is in. */
export function holidaysOf(dir: TeamDirectory, user: StaffUser): ReadonlySet<string> {
  const out = new Set<string>();
  for (const t of dir.teams) if (user.teams.includes(t.name)) for (const d of t.holidays) out.add(d);
  return out;
}

/** The working periods of one local date (in the user's zone), in order; none on a holiday. */
export function periodsOn(user: StaffUser, holidays: ReadonlySet<string>, localDate: DateTime): WorkingPeriod[] {
  const day = localDate.setZone(user.zone).startOf('day');
  if (holidays.has(day.toISODate()!)) return [];
  const ranges = user.hours[day.weekday as IsoWeekday] ?? [];
  return ranges.map((r) => ({
    start: at(day, r.from, user.zone),
    end: at(day, r.to, user.zone),
  }));
}

function at(day: DateTime, minutes: number, zone: string): DateTime {
  if (minutes >= 24 * 60) return day.plus({ days: 1 }).startOf('day');
  return DateTime.fromObject({ year: day.year, month: day.month, day: day.day, hour: Math.floor(minutes / 60), minute: minutes % 60 }, { zone });
}

/** The working period `now` falls in, if any. */
export function periodAt(user: StaffUser, holidays: ReadonlySet<string>, now: DateTime): WorkingPeriod | undefined {
  const local = now.setZone(user.zone);
  // A period of yesterday cannot reach into today (periods end by midnight), so today is enough.
  return periodsOn(user, holidays, local).find((p) => p.start <= local && local < p.end);
}

export function isWorkingAt(user: StaffUser, holidays: ReadonlySet<string>, now: DateTime): boolean {
  return periodAt(user, holidays, now) !== undefined;
}

/** The first working period that starts at or after `now` (not the one `now` is in); undefined: none within a year. */
export function nextPeriodStart(user: StaffUser, holidays: ReadonlySet<string>, now: DateTime): WorkingPeriod | undefined {
  let day = now.setZone(user.zone).startOf('day');
  for (let i = 0; i < HORIZON_DAYS; i++, day = day.plus({ days: 1 })) {
    const next = periodsOn(user, holidays, day).find((p) => p.start >= now);
    if (next) return next;
  }
  return undefined;
}

/**
 * Whose working time an SLA counts: the assignee's, or for a task waiting in a team's queue,
 * any member's (the time anyone could claim it). Empty: nobody, and the clock runs on wall time.
 */
export interface WorkCalendar {
  people: readonly { user: StaffUser; holidays: ReadonlySet<string> }[];
}

export function calendarOf(dir: TeamDirectory, users: readonly StaffUser[]): WorkCalendar {
  return { people: users.map((user) => ({ user, holidays: holidaysOf(dir, user) })) };
}

/** Whether anyone of the calendar works at `t`, and until when the stretch they are in lasts. */
function stretchAt(cal: WorkCalendar, t: DateTime): DateTime | undefined {
  let end: DateTime | undefined;
  for (const p of cal.people) {
    const period = periodAt(p.user, p.holidays, t);
    if (period && (!end || period.end > end)) end = period.end;
  }
  return end;
}

/** The first instant at or after `t` when someone of the calendar works; undefined: nobody does within the horizon. */
export function nextWorkingInstant(cal: WorkCalendar, t: DateTime): DateTime | undefined {
  if (stretchAt(cal, t)) return t;
  let best: DateTime | undefined;
  for (const p of cal.people) {
    const next = nextPeriodStart(p.user, p.holidays, t);
    if (next && (!best || next.start < best)) best = next.start;
  }
  return best;
}

export function isCalendarWorkingAt(cal: WorkCalendar, t: DateTime): boolean {
  return stretchAt(cal, t) !== undefined;
}

/**
 * The instant when `ms` of working time has passed since `from`: time outside working hours
 * (nights, weekends, holidays) does not count. Undefined when the calendar is empty or nobody
 * works within the horizon; callers then count wall time.
 */
export function addWorkingTime(cal: WorkCalendar, from: DateTime, ms: number): DateTime | undefined {
  if (cal.people.length === 0) return undefined;
  let t = from;
  let left = ms;
  // Each round consumes one stretch; a year of stretches is far beyond any SLA.
  for (let i = 0; i < 5_000; i++) {
    const start = nextWorkingInstant(cal, t);
    if (!start) return undefined;
    const end = stretchAt(cal, start);
    if (!end) {
      // A period a DST change emptied (02:00-03:00 on a spring-forward night): step past it.
      t = start.plus({ milliseconds: 1 });
      continue;
    }
    const room = end.toMillis() - start.toMillis();
    if (left <= room) return start.plus({ milliseconds: left });
    left -= room;
    t = end;
  }
  return undefined;
}
