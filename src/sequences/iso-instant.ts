import { DateTime, FixedOffsetZone } from 'luxon';

/** What DateTime#toISO writes for a year from 1000 to 9999: milliseconds, and `Z` or an offset. */
const CANONICAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})(?:Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * `DateTime.fromISO(text, { setZone: true })`, the same DateTime (instant, fixed-offset zone,
 * default locale), for the text luxon's own toISO wrote, which is what enrollment state stores.
 * luxon's general ISO parser was 4-5 µs a call, run for every wake-up of a burst; this is under
 * 1 µs. Any other text (no milliseconds, a week date, an impossible day) goes to luxon as before.
 */
export function isoInstant(text: string): DateTime {
  const m = CANONICAL.exec(text);
  if (m) {
    const [year, month, day, hour, minute, second, ms] = [m[1], m[2], m[3], m[4], m[5], m[6], m[7]].map(Number) as [number, number, number, number, number, number, number];
    const offH = m[8] ? Number(m[9]) : 0;
    const offM = m[8] ? Number(m[10]) : 0;
    const utc = Date.UTC(year, month - 1, day, hour, minute, second, ms);
    const d = new Date(utc);
    // Date.UTC rolls an impossible day or hour over; luxon calls such text invalid.
    if (year >= 1000 && d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day && hour < 24 && minute < 60 && second < 60 && offH < 24 && offM < 60) {
      const offset = (m[8] === '-' ? -1 : 1) * (offH * 60 + offM);
      return DateTime.fromMillis(utc - offset * 60_000, { zone: FixedOffsetZone.instance(offset) });
    }
  }
  return DateTime.fromISO(text, { setZone: true });
}
