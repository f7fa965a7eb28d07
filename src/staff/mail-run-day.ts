import { DateTime } from 'luxon';
import { InputError } from '../errors.js';
import { localDateProblem } from '../sequences/local-date.js';

export interface MailRunDay {
  /** The local date, yyyy-mm-dd. */
  date: string;
  /** The first instant after that day in the zone: pieces due before it belong to the run. */
  endExclusive: Date;
  zone: string;
}

/**
 * The day a mail run covers: `today` or a yyyy-mm-dd, read in `zone` (NURTURE_DEFAULT_TIMEZONE),
 * so a piece due at 23:30 local is in that day's run whatever the server's clock zone is. Overdue
 * pieces are included too: a run takes everything due by the end of the day.
 */
export function mailRunDay(due: string, zone: string, now: DateTime): MailRunDay {
  const given = due.trim().toLowerCase();
  let day: DateTime;
  if (given === 'today') {
    day = now.setZone(zone).startOf('day');
  } else {
    const problem = localDateProblem(given);
    if (problem) throw new InputError(`--due: ${problem} (or "today")`);
    day = DateTime.fromISO(given, { zone });
  }
  return { date: day.toISODate()!, endExclusive: day.plus({ days: 1 }).startOf('day').toJSDate(), zone };
}
