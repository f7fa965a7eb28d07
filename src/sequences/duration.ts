import type { CalendarParts, DurationSpec } from './time-types.js';

/**
 * Durations as marketers write them ("3 days", "1 day 2 hours", "2 business days", "P3D"), parsed
 * into a DurationSpec that keeps the original text for messages and previews.
 */

export type ParseDurationResult = { ok: true; value: DurationSpec } | { ok: false; error: string };

type CalendarUnit = keyof CalendarParts;

/** Largest-first, which is also the order luxon applies calendar units in and the order we print. */
const UNIT_ORDER: readonly CalendarUnit[] = ['years', 'months', 'weeks', 'days', 'hours', 'minutes', 'seconds'];

const UNIT_ALIASES: Readonly<Record<string, CalendarUnit>> = {
  s: 'seconds', sec: 'seconds', secs: 'seconds', second: 'seconds', seconds: 'seconds',
  // "m" is minutes, never months: "5m" in a wait is far more often minutes, and months have "mo".
  m: 'minutes', min: 'minutes', mins: 'minutes', minute: 'minutes', minutes: 'minutes',
  h: 'hours', hr: 'hours', hrs: 'hours', hour: 'hours', hours: 'hours',
  d: 'days', day: 'days', days: 'days',
  w: 'weeks', wk: 'weeks', wks: 'weeks', week: 'weeks', weeks: 'weeks',
  mo: 'months', mos: 'months', mth: 'months', mths: 'months', month: 'months', months: 'months',
  y: 'years', yr: 'years', yrs: 'years', year: 'years', years: 'years',
};

const SINGULAR: Readonly<Record<CalendarUnit, string>> = {
  years: 'year', months: 'month', weeks: 'week', days: 'day', hours: 'hour', minutes: 'minute', seconds: 'second',
};

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * How far a zone's UTC offset can jump forward inside one interval. A calendar day normally lasts
 * 24 h, but a spring-forward day is shorter by the jump: 1 h in almost every zone, 2 h in
 * Antarctica/Troll, the largest jump in the tz database since Samoa crossed the date line in 2011.
 * Offsets only move within a band, so a whole interval loses at most one such jump, however many
 * transitions it spans.
 */
const MAX_OFFSET_JUMP_MS = 2 * HOUR_MS;

/** Nobody means a wait of a century; such a number is a typo and luxon cannot represent it well. */
const MAX_LOWER_BOUND_MS = 100 * 365 * DAY_MS;

const EXAMPLES = 'try "3 days", "2 business days", "1 month" or ISO 8601 like "P3D"';

function notADuration(text: string): { ok: false; error: string } {
  return { ok: false, error: `"${text}" is not a duration (${EXAMPLES})` };
}

function isoParts(lower: string): CalendarParts | null {
  const m = /^p(?:(\d+)y)?(?:(\d+)m)?(?:(\d+)w)?(?:(\d+)d)?(?:t(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?)?$/.exec(lower);
  if (!m) return null;
  // "P" alone and "P1DT" are not valid ISO 8601: a designator must carry at least one number.
  if (lower.endsWith('t') || m.slice(1).every((g) => g === undefined)) return null;
  const units: CalendarUnit[] = ['years', 'months', 'weeks', 'days', 'hours', 'minutes', 'seconds'];
  const parts: CalendarParts = {};
  units.forEach((unit, i) => {
    const g = m[i + 1];
    if (g !== undefined) parts[unit] = Number(g);
  });
  return parts;
}

type Tokens = { ok: true; parts: CalendarParts } | { ok: false; error: string };

/** "1 day 2 hours", "1 month, 2 days", "1 day and 2 hours", "1d2h". */
function humanParts(text: string, lower: string): Tokens {
  const token = /^(\d+)\s*([a-z]+)\s*(?:(?:,|\band\b)\s*)*/;
  const parts: CalendarParts = {};
  let rest = lower;
  while (rest.length > 0) {
    const m = token.exec(rest);
    if (!m) return notADuration(text);
    const unit = UNIT_ALIASES[m[2] ?? ''];
    if (!unit) return notADuration(text);
    if (parts[unit] !== undefined) {
      return { ok: false, error: `"${text}" names ${unit} twice (write each unit once, e.g. "1 day 2 hours")` };
    }
    parts[unit] = Number(m[1]);
    rest = rest.slice(m[0].length);
  }
  return { ok: true, parts };
}

function dropZeros(parts: CalendarParts): CalendarParts {
  const out: CalendarParts = {};
  for (const unit of UNIT_ORDER) {
    const v = parts[unit];
    if (v !== undefined && v !== 0) out[unit] = v;
  }
  return out;
}

function checkSize(text: string, value: DurationSpec): ParseDurationResult {
  const numbers = value.kind === 'business_days' ? [value.days] : Object.values(value.parts);
  if (numbers.some((n) => !Number.isSafeInteger(n)) || durationLowerBoundMs(value) > MAX_LOWER_BOUND_MS) {
    return { ok: false, error: `"${text}" is too long (a wait can be at most 100 years)` };
  }
  return { ok: true, value };
}

export function parseDuration(input: string): ParseDurationResult {
  const text = input.trim();
  if (text === '') return { ok: false, error: `A duration is required (${EXAMPLES})` };
  const lower = text.toLowerCase().replace(/\s+/g, ' ');

  if (lower.startsWith('-')) {
    return { ok: false, error: `"${text}" is negative: a wait can only go forward in time` };
  }

  const business = /^(\d+) ?(?:business|working) days?$/.exec(lower);
  if (business) {
    const days = Number(business[1]);
    if (days === 0) return { ok: false, error: `"${text}" is zero: a wait must be longer than that` };
    return checkSize(text, { kind: 'business_days', days, text });
  }
  if (/\b(?:business|working)\b/.test(lower)) {
    return {
      ok: false,
      error: `"${text}": business days cannot be combined with other units (write e.g. "2 business days" on its own)`,
    };
  }

  let parts: CalendarParts;
  if (lower.startsWith('p')) {
    const iso = isoParts(lower);
    if (!iso) return notADuration(text);
    parts = iso;
  } else {
    const human = humanParts(text, lower);
    if (!human.ok) return human;
    parts = human.parts;
  }

  parts = dropZeros(parts);
  if (Object.keys(parts).length === 0) {
    return { ok: false, error: `"${text}" is zero: a wait must be longer than that` };
  }
  return checkSize(text, { kind: 'calendar', parts, text });
}

function plural(n: number, singular: string): string {
  return `${n} ${singular}${n === 1 ? '' : 's'}`;
}

/** Human text that parseDuration reads back to the same parts (the original `text` is not used). */
export function formatDuration(d: DurationSpec): string {
  if (d.kind === 'business_days') return plural(d.days, 'business day');
  const pieces: string[] = [];
  for (const unit of UNIT_ORDER) {
    const v = d.parts[unit];
    if (v !== undefined && v !== 0) pieces.push(plural(v, SINGULAR[unit]));
  }
  return pieces.length === 0 ? '0 seconds' : pieces.join(', ');
}

/**
 * The least time that can elapse when `d` is added to any instant in any zone (see addDuration):
 * - a month is at least 28 days (Jan 31 + 1 month = Feb 28) and k months at least 28k days, because
 *   day-of-month clamping only ever loses the days of the first month; a year is at least 365 days;
 * - calendar days keep the wall-clock time, so the interval is a whole number of local days minus
 *   whatever the offset jumped forward meanwhile (MAX_OFFSET_JUMP_MS, counted once);
 * - N business days span at least N calendar days, so the same bound applies. N*24 h would not be
 *   a bound: Asia/Jerusalem springs forward on a Friday, so Thursday + 1 business day is 23 h;
 * - hours, minutes and seconds are exact elapsed time.
 */
export function durationLowerBoundMs(d: DurationSpec): number {
  if (d.kind === 'business_days') return Math.max(0, d.days * DAY_MS - MAX_OFFSET_JUMP_MS);
  const p = d.parts;
  const calendarDays = (p.years ?? 0) * 365 + (p.months ?? 0) * 28 + (p.weeks ?? 0) * 7 + (p.days ?? 0);
  const calendarMs = calendarDays > 0 ? Math.max(0, calendarDays * DAY_MS - MAX_OFFSET_JUMP_MS) : 0;
  const exactMs = (p.hours ?? 0) * HOUR_MS + (p.minutes ?? 0) * 60_000 + (p.seconds ?? 0) * 1000;
  return calendarMs + exactMs;
}

/** `n` times a duration, calendar-correct: 3 × "1 month" is "3 months", not 90 days. */
export function scaleDuration(d: DurationSpec, n: number): DurationSpec {
  if (d.kind === 'business_days') return { kind: 'business_days', days: d.days * n, text: `${n} × ${d.text}` };
  const parts = Object.fromEntries(Object.entries(d.parts).map(([k, v]) => [k, (v as number) * n]));
  return { kind: 'calendar', parts, text: `${n} × ${d.text}` };
}
