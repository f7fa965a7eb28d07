/**
 * The arithmetic of the reports, pure: percentiles, time buckets, weekly cohorts and funnel
 * conversion. The read models in src/queries/reports fetch rows; these functions turn them into
 * figures, so the CLI, the dashboard and the tests all see the same numbers from the same code.
 * Instants are read in UTC, so a week or a month means the same thing whoever runs the report,
 * unless the report is asked for a zone (`--zone`): then the weekly cohorts are that zone's weeks.
 */

/** A share in percent with one decimal; null when there is nothing to divide by. */
export function percent(part: number, whole: number): number | null {
  return whole === 0 ? null : Math.round((part / whole) * 1000) / 10;
}

/**
 * The p-th quantile (0 ≤ p ≤ 1) of ascending values, interpolated between the two nearest ranks
 * like PostgreSQL's percentile_cont, so the figures agree with `nurture stats`.
 */
export function quantile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = p * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (b - a) * (rank - lo);
}

export interface DurationSummary {
  count: number;
  medianSeconds: number | null;
  meanSeconds: number | null;
  p90Seconds: number | null;
}

export function summarize(seconds: readonly number[]): DurationSummary {
  const sorted = [...seconds].sort((a, b) => a - b);
  const mean = sorted.length === 0 ? null : sorted.reduce((s, v) => s + v, 0) / sorted.length;
  return { count: sorted.length, medianSeconds: quantile(sorted, 0.5), meanSeconds: mean, p90Seconds: quantile(sorted, 0.9) };
}

/**
 * The buckets of the time-to-lead distribution. Upper edges are exclusive; months are calendar
 * months after the opt-in (a lead 1 month after a 31 January opt-in is on 28 or 29 February).
 * The last bucket catches anything later, so every duration has a bucket. `within` names the
 * upper edge, for cumulative figures ("leads within 7 d").
 */
export const BUCKETS = [
  { key: 'under_1h', label: 'under 1 h', within: '1 h', upTo: { hours: 1 } },
  { key: '1h_36h', label: '1–36 h', within: '36 h', upTo: { hours: 36 } },
  { key: '36h_7d', label: '36 h–7 d', within: '7 d', upTo: { days: 7 } },
  { key: '7d_30d', label: '7–30 d', within: '30 d', upTo: { days: 30 } },
  { key: '1m_6m', label: '1–6 months', within: '6 months', upTo: { months: 6 } },
  { key: '6m_18m', label: '6–18 months', within: '18 months', upTo: { months: 18 } },
  { key: 'over_18m', label: 'over 18 months', within: 'ever', upTo: null },
] as const;

export type BucketKey = (typeof BUCKETS)[number]['key'];

/**
 * `at` plus whole calendar months in UTC, the day of the month clamped to the target month's
 * last day (31 January + 1 month = 28 or 29 February), as luxon's `plus({ months })` does.
 * Plain arithmetic: a report buckets tens of thousands of durations.
 */
export function plusMonthsUtc(at: Date, months: number): number {
  const y = at.getUTCFullYear();
  const m = at.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return Date.UTC(y, m, Math.min(at.getUTCDate(), lastDay), at.getUTCHours(), at.getUTCMinutes(), at.getUTCSeconds(), at.getUTCMilliseconds());
}

const MS = { hours: 3_600_000, days: 86_400_000 } as const;

function edgeOf(from: Date, upTo: { hours: number } | { days: number } | { months: number }): number {
  if ('months' in upTo) return plusMonthsUtc(from, upTo.months);
  // Days are 24 h: in UTC every day is.
  return from.getTime() + ('hours' in upTo ? upTo.hours * MS.hours : upTo.days * MS.days);
}

/** Which bucket the time from `from` to `to` (not before `from`) falls in. */
export function bucketOf(from: Date, to: Date): BucketKey {
  const end = to.getTime();
  for (const b of BUCKETS) if (b.upTo === null || end < edgeOf(from, b.upTo)) return b.key;
  return 'over_18m';
}

export interface BucketCount {
  key: BucketKey;
  label: string;
  count: number;
}

export function histogram(spans: readonly { from: Date; to: Date }[]): BucketCount[] {
  const counts = new Map<BucketKey, number>(BUCKETS.map((b) => [b.key, 0]));
  for (const s of spans) {
    const k = bucketOf(s.from, s.to);
    counts.set(k, counts.get(k)! + 1);
  }
  return BUCKETS.map((b) => ({ key: b.key, label: b.label, count: counts.get(b.key)! }));
}

/**
 * The Monday of the UTC ISO week an instant is in, as `YYYY-MM-DD`: the cohort's name when no
 * week came with the journey. A week in another zone is never worked out here: the database
 * gives it (see Journey.week), so the opt-ins and leads of a cohort agree.
 */
export function weekOf(at: Date): string {
  const sinceMonday = (at.getUTCDay() + 6) % 7;
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() - sinceMonday)).toISOString().slice(0, 10);
}

/** A contact's way from opt-in on: when it became a lead, when staff first talked with it. */
export interface Journey {
  optedInAt: Date;
  /**
   * The opt-in's week as the database counted the cohorts' opt-ins (date_trunc in the report's
   * zone), so a lead lands in the week its opt-in was counted in: the database's zone data and
   * Node's may differ (PGlite's is newer than Node 20's, for Vancouver from late 2026). When
   * absent (journeys made by hand), weekOf works out the UTC week.
   */
  week?: string;
  leadAt: Date | null;
  conversationAt: Date | null;
}

export interface Cohort {
  /** Monday of the opt-in week (in the report's zone). */
  week: string;
  optedIn: number;
  leads: number;
  conversionPercent: number | null;
  /** Time from opt-in to lead of the cohort's leads. */
  toLead: TimeToFigures;
  /**
   * Share of the cohort's opt-ins (percent) that had become leads within each bucket's upper
   * edge: the cohort's line on the chart. Never decreasing; the last value is the conversion.
   */
  cumulativePercent: { key: BucketKey; percent: number | null }[];
}

function seconds(from: Date, to: Date): number {
  return (to.getTime() - from.getTime()) / 1000;
}

/**
 * Weekly cohorts from the opt-ins counted per week (every contact) and the journeys of those who
 * got somewhere (a lead or a conversation): weeks without journeys still appear with their
 * opt-ins, weeks are in order.
 */
export function cohorts(optInsByWeek: readonly { week: string; optedIn: number }[], journeys: readonly Journey[]): Cohort[] {
  const leadsByWeek = new Map<string, Journey[]>();
  for (const j of journeys) {
    if (j.leadAt === null) continue;
    const w = j.week ?? weekOf(j.optedInAt);
    const list = leadsByWeek.get(w) ?? [];
    list.push(j);
    leadsByWeek.set(w, list);
  }
  const weeks = new Map<string, number>();
  for (const r of optInsByWeek) weeks.set(r.week, (weeks.get(r.week) ?? 0) + r.optedIn);
  for (const w of leadsByWeek.keys()) if (!weeks.has(w)) weeks.set(w, 0);
  return [...weeks.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([week, optedIn]) => {
      const leads = leadsByWeek.get(week) ?? [];
      const toLead = timeTo(leads, (j) => j.leadAt);
      let running = 0;
      const cumulativePercent = toLead.buckets.map((b) => {
        running += b.count;
        return { key: b.key, percent: percent(running, Math.max(optedIn, leads.length)) };
      });
      return {
        week,
        optedIn,
        leads: leads.length,
        conversionPercent: percent(leads.length, Math.max(optedIn, leads.length)),
        toLead,
        cumulativePercent,
      };
    });
}

export interface TimeToFigures {
  summary: DurationSummary;
  buckets: BucketCount[];
}

/** Time from opt-in to the instant `pick` chooses, over the journeys that have one. */
export function timeTo(journeys: readonly Journey[], pick: (j: Journey) => Date | null): TimeToFigures {
  const spans: { from: Date; to: Date }[] = [];
  for (const j of journeys) {
    const to = pick(j);
    if (to !== null) spans.push({ from: j.optedInAt, to });
  }
  return { summary: summarize(spans.map((s) => seconds(s.from, s.to))), buckets: histogram(spans) };
}

/** The funnel's steps, in order: opted in → engaged → MQL → SQL (lead) → customer. */
export const FUNNEL_STEPS = [
  { key: 'optedIn', label: 'opted in' },
  { key: 'engaged', label: 'engaged' },
  { key: 'mql', label: 'MQL' },
  { key: 'sql', label: 'SQL (lead)' },
  { key: 'customer', label: 'customer' },
] as const;

export type FunnelKey = (typeof FUNNEL_STEPS)[number]['key'];
export type FunnelCounts = Record<FunnelKey, number>;

export interface FunnelStep {
  key: FunnelKey;
  label: string;
  contacts: number;
  /** Of the previous step's contacts (percent); null for the first step or an empty previous step. */
  fromPreviousPercent: number | null;
  /** Of the opted-in contacts (percent). */
  fromOptInPercent: number | null;
}

export function funnelSteps(counts: FunnelCounts): FunnelStep[] {
  return FUNNEL_STEPS.map((s, i) => {
    const prev = i === 0 ? null : counts[FUNNEL_STEPS[i - 1]!.key];
    return {
      key: s.key,
      label: s.label,
      contacts: counts[s.key],
      fromPreviousPercent: prev === null ? null : percent(counts[s.key], prev),
      fromOptInPercent: percent(counts[s.key], counts.optedIn),
    };
  });
}
