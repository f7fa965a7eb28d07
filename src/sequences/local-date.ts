/** Local dates as marketers write them in `holidays`: "yyyy-mm-dd", and only dates that exist. */

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/**
 * Exactly the real Gregorian dates "yyyy-mm-dd", leap days included, as one regex: JSON Schema
 * patterns are all an editor has, and a holiday on 2026-02-30 would otherwise be silently ignored.
 */
export const LOCAL_DATE_PATTERN = new RegExp(
  '^(?:\\d{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\\d|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)' +
    '|(?:\\d{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29)$',
);

function daysIn(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Why `text` is not a real local date, or null when it is one. */
export function localDateProblem(text: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return `"${text}" is not a date: write "yyyy-mm-dd", e.g. "2026-12-25"`;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12) return `"${text}" is not a date: there is no month ${month}`;
  if (day < 1) return `"${text}" is not a date: there is no day 0`;
  const last = daysIn(year, month);
  if (day > last) {
    const which = month === 2 ? `February ${year}` : MONTHS[month - 1]!;
    return `"${text}" is not a date: ${which} has ${last} days`;
  }
  return null;
}
