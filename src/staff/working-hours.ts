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

/** The start of the user's working day on `now`'s local date (its first period), if they work that day. */
export function workingDayStart(user: StaffUser, holidays: ReadonlySet<string>, now: DateTime): DateTime | undefined {
  return periodsOn(user, holidays, now.setZone(user.zone))[0]?.start;
}
