import { DateTime } from 'luxon';
import { InputError } from '../errors.js';
import { parseDuration } from '../sequences/duration.js';
import type { Out } from './shared.js';
import { stdout } from './shared.js';
import { humanDuration } from '../queries/durations.js';

/** Formatting and flag parsing shared by the inspection commands (contacts, tasks, events, stats). */
/** What a command's core returns: the JSON document and the text for people. */
export interface Rendered<T> {
  data: T;
  text: string;
}

export function emit(result: Rendered<unknown>, json: boolean | undefined, out: Out = stdout): void {
  if (json) out.json(result.data);
  else out.line(result.text);
}

export { humanDuration, iso } from '../queries/durations.js';

/** "in 58 min", "3 h ago", "now". */
export function relativeTime(at: Date, now: DateTime): string {
  const diff = at.getTime() - now.toMillis();
  if (Math.abs(diff) < 30_000) return 'now';
  return diff > 0 ? `in ${humanDuration(diff)}` : `${humanDuration(diff)} ago`;
}

/** "2026-11-24 10:42 UTC", in `zone` (default: the machine's). */
export function formatInstant(at: Date, zone?: string): string {
  const t = zone ? DateTime.fromJSDate(at, { zone }) : DateTime.fromJSDate(at);
  return t.toFormat('yyyy-LL-dd HH:mm ZZZZ');
}

export function formatAddress(a: Record<string, unknown> | null | undefined): string | null {
  if (!a) return null;
  const s = (k: string) => (typeof a[k] === 'string' && a[k] !== '' ? (a[k] as string) : undefined);
  const cityLine = [s('city'), [s('region'), s('postalCode')].filter(Boolean).join(' ')].filter(Boolean).join(', ');
  return [s('line1'), s('line2'), cityLine, s('country')].filter(Boolean).join(', ') || null;
}

export function truncate(s: string, max: number): string {
  const one = s.replace(/\s+/g, ' ');
  return one.length <= max ? one : `${one.slice(0, max - 1)}…`;
}

/** Left-aligned columns separated by two spaces; trailing blanks trimmed. */
export function table(headers: string[], rows: string[][], indent = '  '): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => (indent + cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')).trimEnd();
  return [line(headers), ...rows.map(line)];
}

export function parseChoice<T extends string>(flag: string, value: string | undefined, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  if (!(choices as readonly string[]).includes(v)) throw new InputError(`${flag}: "${value}" is not one of ${choices.join(', ')}`);
  return v as T;
}

export function parseLimit(value: string | undefined, fallback: number, max = 10_000): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InputError(`--limit: "${value}" is not a whole number of at least 1`);
  if (n > max) throw new InputError(`--limit: ${n} is more than ${max}`);
  return n;
}

/**
 * An instant given on the command line: ISO 8601 ("2026-11-25", "2026-11-25T09:00Z"), "now",
 * "today"/"tomorrow" (the end of that day for `ahead`, its start for `back`), or a duration
 * ("3 days") counted ahead of or back from `now`.
 */
export function parseInstant(flag: string, value: string, now: DateTime, direction: 'ahead' | 'back', zone?: string): Date {
  const v = value.trim().toLowerCase();
  const here = zone ? now.setZone(zone) : now;
  const edge = (d: DateTime) => (direction === 'ahead' ? d.endOf('day') : d.startOf('day'));
  if (v === 'now') return now.toJSDate();
  if (v === 'today') return edge(here).toJSDate();
  if (v === 'tomorrow') return edge(here.plus({ days: 1 })).toJSDate();
  if (v === 'yesterday') return edge(here.minus({ days: 1 })).toJSDate();
  if (/^\d{4}-\d{2}-\d{2}/.test(v)) {
    const t = DateTime.fromISO(value.trim(), zone ? { zone } : {});
    if (t.isValid) return t.toJSDate();
    throw new InputError(`${flag}: "${value}" is not a valid ISO 8601 date or time (e.g. 2026-11-25 or 2026-11-25T09:00:00Z)`);
  }
  const d = parseDuration(value);
  if (d.ok && d.value.kind === 'calendar') {
    return (direction === 'ahead' ? here.plus(d.value.parts) : here.minus(d.value.parts)).toJSDate();
  }
  const words = direction === 'ahead' ? 'today, tomorrow' : 'today, yesterday';
  throw new InputError(`${flag}: "${value}" is not a time: use an ISO date like 2026-11-25, ${words}, or a duration like "3 days"`);
}
