import { assertNever } from '../sequences/compile.js';
import type { Contact } from '../sequences/contact.js';
import { countsAsEngagement } from '../sequences/engagement.js';
import type { EngagementRule, FitRule, ScoringRules, Test } from './rules.js';

/**
 * A contact's score as a pure function of (rules, contact, event history, now). Stored scores are
 * a cache of this; `explainScore` gives the same figure with every point accounted for.
 *
 * - **Fit** comes from the contact's fields and does not decay.
 * - **Engagement** comes from events. An event's points are credited when it happened, after the
 *   caps, and then decay as 2^(−age/half-life). Caps:
 *   - `per_day`: at most this many points a UTC day from the rule; when a day has more, the most
 *     recent events are the ones credited (they are worth the most now).
 *   - `max`: the rule's current (decayed) value never exceeds it; an event credits what brings the
 *     value back up to the cap. So engagement long ago leaves room for engagement today.
 *   - a group's `max`: the sum of its rules' current values is cut to it.
 *   These choices keep the score monotone: one more event never lowers it.
 */

export type ScoredContact = Pick<Contact, 'email' | 'firstName' | 'lastName' | 'phone' | 'timezone' | 'address' | 'attributes' | 'tags'>;

export interface ScoredEvent {
  id: string;
  type: string;
  /** When it happened, epoch milliseconds. */
  at: number;
  data: Record<string, unknown>;
}

export interface Score {
  fit: number;
  engagement: number;
  /** fit + engagement. */
  total: number;
}

export interface FitLine {
  rule: string;
  field: string;
  value: unknown;
  points: number;
}

export interface EventLine {
  rule: string;
  eventId: string;
  type: string;
  at: number;
  /** Points as the event matched the rule, before caps. */
  raw: number;
  /** Points credited when it happened (after per-day and rule caps). */
  then: number;
  /** What is left of them at `now`. */
  now: number;
}

export interface CapLine {
  /** `group NAME` (fit or engagement). */
  cap: string;
  /** Points taken off by the cap, at `now`. */
  cut: number;
}

export interface ScoreExplanation extends Score {
  at: number;
  fitLines: FitLine[];
  eventLines: EventLine[];
  caps: CapLine[];
}

const DAY_MS = 86_400_000;

export function computeScore(rules: ScoringRules, contact: ScoredContact, events: readonly ScoredEvent[], now: number): Score {
  const e = explainScore(rules, contact, events, now);
  return { fit: e.fit, engagement: e.engagement, total: e.total };
}

/** The event types any engagement rule reads: the only history the score needs. */
export function scoredEventTypes(rules: ScoringRules): string[] {
  return [...new Set(rules.engagement.map((r) => r.event))];
}

export function explainScore(rules: ScoringRules, contact: ScoredContact, events: readonly ScoredEvent[], now: number): ScoreExplanation {
  const caps: CapLine[] = [];
  const fitLines = fitOf(rules.fit, contact);
  const fit = capGroups(
    fitLines.map((l, i) => ({ group: rules.fit[i]!.group, value: l.points })),
    rules.groupCaps,
    caps,
  );
  const past = events.filter((e) => e.at <= now).sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const eventLines: EventLine[] = [];
  const ruleValues = rules.engagement.map((r) => {
    const lines = engagementOf(r, past, now);
    eventLines.push(...lines);
    return { group: r.group, value: lines.reduce((s, l) => s + l.now, 0) };
  });
  const engagement = capGroups(ruleValues, rules.groupCaps, caps);
  eventLines.sort((a, b) => a.at - b.at || (a.eventId < b.eventId ? -1 : 1));
  return { at: now, fit, engagement, total: fit + engagement, fitLines: fitLines.filter((l) => l.points !== 0), eventLines, caps };
}

function fitOf(rules: readonly FitRule[], c: ScoredContact): FitLine[] {
  return rules.map((r) => {
    const value = fieldOf(c, r.field);
    return { rule: r.label, field: r.field, value, points: passes(r.test, value) ? r.points : 0 };
  });
}

/** Sums values, cutting each group to its cap; the cuts are noted in `caps`. */
function capGroups(values: { group: string | undefined; value: number }[], groupCaps: Record<string, number>, caps: CapLine[]): number {
  let total = 0;
  const groups = new Map<string, number>();
  for (const v of values) {
    if (v.group === undefined || groupCaps[v.group] === undefined) total += v.value;
    else groups.set(v.group, (groups.get(v.group) ?? 0) + v.value);
  }
  for (const [g, sum] of groups) {
    const cap = groupCaps[g]!;
    if (sum > cap) caps.push({ cap: `group ${g}`, cut: sum - cap });
    total += Math.min(sum, cap);
  }
  return total;
}

const decay = (ageMs: number, halfLifeMs: number | null) => (halfLifeMs === null ? 1 : Math.pow(2, -ageMs / halfLifeMs));

/** `past` is in time order. */
function engagementOf(r: EngagementRule, past: readonly ScoredEvent[], now: number): EventLine[] {
  // A hit flagged as a link scanner's (src/sequences/engagement.ts) is nobody's engagement.
  const matched = past.filter((e) => e.type === r.event && countsAsEngagement(e.data) && matchesData(r.where, e.data));
  if (matched.length === 0) return [];
  const credit = matched.map(() => r.points);
  if (r.perDay !== undefined) {
    // Latest first within each day: a later point is worth more now, so the score stays monotone.
    let day = NaN;
    let left = 0;
    for (let i = matched.length - 1; i >= 0; i--) {
      const d = Math.floor(matched[i]!.at / DAY_MS);
      if (d !== day) {
        day = d;
        left = r.perDay;
      }
      credit[i] = Math.min(credit[i]!, left);
      left -= credit[i]!;
    }
  }
  const lines: EventLine[] = [];
  let value = 0;
  let last = matched[0]!.at;
  matched.forEach((e, i) => {
    value *= decay(e.at - last, r.halfLifeMs);
    last = e.at;
    const next = r.max === undefined ? value + credit[i]! : Math.min(r.max, value + credit[i]!);
    const then = Math.max(0, next - value);
    value = Math.max(value, next);
    lines.push({ rule: r.label, eventId: e.id, type: e.type, at: e.at, raw: r.points, then, now: then * decay(now - e.at, r.halfLifeMs) });
  });
  return lines;
}

function matchesData(where: Record<string, Test>, data: Record<string, unknown>): boolean {
  for (const key in where) if (!passes(where[key]!, data[key])) return false;
  return true;
}

/** A dotted path into the contact: `attributes.company_size`, `address.country`, `email`. */
export function fieldOf(c: ScoredContact, field: string): unknown {
  const [head, ...rest] = field.split('.');
  let v: unknown = (c as unknown as Record<string, unknown>)[head!];
  for (const k of rest) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = Object.hasOwn(v, k) ? (v as Record<string, unknown>)[k] : undefined;
  }
  return v;
}

const same = (a: unknown, b: unknown) => a === b || (typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase());

/** Numbers given as text ("50") compare as numbers: imported attributes are often strings. */
function numberOf(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

export function passes(t: Test, v: unknown): boolean {
  switch (t.op) {
    case 'exists':
      return (v !== undefined && v !== null && v !== '') === t.value;
    case 'equals':
      return same(v, t.value) || (typeof t.value === 'number' && numberOf(v) === t.value);
    case 'in':
      return t.value.some((x) => same(v, x) || (typeof x === 'number' && numberOf(v) === x));
    case 'contains':
      return Array.isArray(v) ? v.some((x) => same(x, t.value)) : typeof v === 'string' && v.toLowerCase().includes(String(t.value).toLowerCase());
    case 'starts_with':
      return typeof v === 'string' && v.toLowerCase().startsWith(t.value.toLowerCase());
    case 'ends_with':
      return typeof v === 'string' && v.toLowerCase().endsWith(t.value.toLowerCase());
    case 'gte':
    case 'gt':
    case 'lte':
    case 'lt': {
      const n = numberOf(v);
      if (n === undefined) return false;
      return t.op === 'gte' ? n >= t.value : t.op === 'gt' ? n > t.value : t.op === 'lte' ? n <= t.value : n < t.value;
    }
    default:
      return assertNever(t);
  }
}
