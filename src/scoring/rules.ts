import { z } from 'zod';
import { parseDuration } from '../sequences/duration.js';
import { EVENT_TYPE, EVENT_TYPE_HINT } from '../sequences/names.js';

/**
 * The scoring file (`scoring.yaml`): fit rules on contact fields, engagement rules on events, caps,
 * a half-life, and the score thresholds of the stages. Parsed once at the boundary; everything past
 * `scoringFileSchema` works on `ScoringRules`, where durations are milliseconds.
 */

const operand = z.union([z.string(), z.number(), z.boolean()]);
type Operand = z.infer<typeof operand>;

/** One comparison. Exactly one operator per test, so a rule reads as one sentence. */
const OPERATORS = ['equals', 'in', 'gte', 'gt', 'lte', 'lt', 'starts_with', 'ends_with', 'contains', 'exists'] as const;
export type Operator = (typeof OPERATORS)[number];

const operatorFields = {
  equals: operand.optional(),
  in: z.array(operand).min(1).optional(),
  gte: z.number().optional(),
  gt: z.number().optional(),
  lte: z.number().optional(),
  lt: z.number().optional(),
  starts_with: z.string().min(1).optional(),
  ends_with: z.string().min(1).optional(),
  contains: operand.optional(),
  exists: z.boolean().optional(),
};

export type Test =
  | { op: 'equals'; value: Operand }
  | { op: 'in'; value: Operand[] }
  | { op: 'gte' | 'gt' | 'lte' | 'lt'; value: number }
  | { op: 'starts_with' | 'ends_with'; value: string }
  | { op: 'contains'; value: Operand }
  | { op: 'exists'; value: boolean };

function onlyOneOperator(v: Record<string, unknown>, ctx: z.RefinementCtx): void {
  const given = OPERATORS.filter((k) => v[k] !== undefined);
  if (given.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      message: given.length === 0 ? `needs one test (${OPERATORS.join(', ')})` : `has ${given.length} tests (${given.join(', ')}): write one per rule`,
    });
  }
}

function testOf(v: Record<string, unknown>): Test {
  const op = OPERATORS.find((k) => v[k] !== undefined)!;
  return { op, value: v[op] } as Test;
}

const points = z
  .number()
  .refine((n) => Number.isFinite(n) && n !== 0, { message: 'must be a number other than 0' });

const halfLife = z.string().transform((s, ctx) => {
  if (/^\s*never\s*$/i.test(s)) return null;
  const ms = halfLifeMs(s);
  if (typeof ms === 'string') {
    ctx.addIssue({ code: 'custom', message: ms });
    return z.NEVER;
  }
  return ms;
});

const DAY_MS = 86_400_000;

/** A half-life in milliseconds, or the reason it is not one. Months are 30 days and years 365: decay needs a fixed length. */
export function halfLifeMs(text: string): number | string {
  const d = parseDuration(text);
  if (!d.ok) return d.error;
  if (d.value.kind === 'business_days') return `"${text}": a half-life is in calendar time (write e.g. "30 days")`;
  const p = d.value.parts;
  return (
    ((p.years ?? 0) * 365 + (p.months ?? 0) * 30 + (p.weeks ?? 0) * 7 + (p.days ?? 0)) * DAY_MS +
    (p.hours ?? 0) * 3_600_000 +
    (p.minutes ?? 0) * 60_000 +
    (p.seconds ?? 0) * 1000
  );
}

const FIELD = /^(?:email|firstName|lastName|phone|timezone|tags|(?:attributes|address)\.[A-Za-z0-9_.-]+)$/;

const name = z.string().min(1).max(100).optional();
const group = z.string().regex(/^[a-z][a-z0-9_-]*$/, 'is not a group name (lower case, digits, _ and -)').optional();

const fitRule = z
  .strictObject({
    name,
    field: z.string().regex(FIELD, 'is not a contact field (email, firstName, lastName, phone, timezone, tags, attributes.NAME, address.NAME)'),
    ...operatorFields,
    points,
    group,
  })
  .superRefine(onlyOneOperator);

const whereTest = z.strictObject(operatorFields).superRefine(onlyOneOperator);

const engagementRule = z
  .strictObject({
    name,
    event: z.string().regex(EVENT_TYPE, `is not an event type (${EVENT_TYPE_HINT})`),
    /** Keys of the event's data: a value, a list (any of them), or one test (`{ starts_with: /pricing }`). */
    where: z.record(z.string().min(1), z.union([operand, z.array(operand).min(1), whereTest])).optional(),
    // Engagement only adds: a negative signal is a fit rule, or a stage a person sets.
    points: z.number().positive({ message: 'must be more than 0 (engagement rules add points)' }),
    per_day: z.number().positive().optional(),
    max: z.number().positive().optional(),
    group,
    half_life: halfLife.optional(),
  });

const threshold = z.strictObject({
  fit: z.number().optional(),
  engagement: z.number().optional(),
  score: z.number().optional(),
});

const stageThreshold = threshold.extend({
  /** Hysteresis: once in the stage, the contact falls back only below these (lower) figures. */
  fall_back_below: threshold.optional(),
});

const groupSchema = z.strictObject({ max: z.number().positive() });

export const scoringFileSchema = z.strictObject({
  half_life: halfLife.optional(),
  fit: z.array(fitRule).default([]),
  engagement: z.array(engagementRule).default([]),
  groups: z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/), groupSchema).default({}),
  stages: z
    .strictObject({
      engaged: stageThreshold.optional(),
      mql: stageThreshold.optional(),
    })
    .default({}),
});

export type ScoringFile = z.output<typeof scoringFileSchema>;

export interface Threshold {
  fit?: number | undefined;
  engagement?: number | undefined;
  score?: number | undefined;
}

export interface FitRule {
  label: string;
  field: string;
  test: Test;
  points: number;
  group: string | undefined;
}

export interface EngagementRule {
  label: string;
  event: string;
  where: Record<string, Test>;
  points: number;
  perDay: number | undefined;
  max: number | undefined;
  group: string | undefined;
  /** null: the points never decay. */
  halfLifeMs: number | null;
}

/** The stages scoring moves contacts between, lowest first. */
export const SCORED_STAGES = ['subscriber', 'engaged', 'mql'] as const;
export type ScoredStage = (typeof SCORED_STAGES)[number];

export interface StageRule {
  enter: Threshold;
  /** Without it the stage is kept once reached (forward only). */
  fallBackBelow: Threshold | undefined;
}

export interface ScoringRules {
  fit: FitRule[];
  engagement: EngagementRule[];
  groupCaps: Record<string, number>;
  stages: Partial<Record<Exclude<ScoredStage, 'subscriber'>, StageRule>>;
}

export const NO_SCORING: ScoringRules = { fit: [], engagement: [], groupCaps: {}, stages: {} };

function thresholdOf(t: z.output<typeof threshold>): Threshold {
  return { fit: t.fit, engagement: t.engagement, score: t.score };
}

/** The file's content as the core uses it; the problems zod cannot see are checked in `ruleProblems`. */
export function toRules(f: ScoringFile): ScoringRules {
  const stages: ScoringRules['stages'] = {};
  for (const s of ['engaged', 'mql'] as const) {
    const t = f.stages[s];
    if (t) stages[s] = { enter: thresholdOf(t), fallBackBelow: t.fall_back_below ? thresholdOf(t.fall_back_below) : undefined };
  }
  return {
    fit: f.fit.map((r, i) => ({ label: r.name ?? `fit[${i}] ${r.field}`, field: r.field, test: testOf(r), points: r.points, group: r.group })),
    engagement: f.engagement.map((r, i) => ({
      label: r.name ?? `engagement[${i}] ${r.event}`,
      event: r.event,
      where: Object.fromEntries(
        Object.entries(r.where ?? {}).map(([k, v]) => [
          k,
          Array.isArray(v) ? { op: 'in', value: v } : typeof v === 'object' ? testOf(v as Record<string, unknown>) : { op: 'equals', value: v },
        ]),
      ) as Record<string, Test>,
      points: r.points,
      perDay: r.per_day,
      max: r.max,
      group: r.group,
      halfLifeMs: r.half_life !== undefined ? r.half_life : (f.half_life ?? null),
    })),
    groupCaps: Object.fromEntries(Object.entries(f.groups).map(([k, g]) => [k, g.max])),
    stages,
  };
}

/** Problems across fields: groups that are not declared, a fall-back that is not below the entry. */
export function ruleProblems(f: ScoringFile): { path: PropertyKey[]; message: string }[] {
  const out: { path: PropertyKey[]; message: string }[] = [];
  const declared = Object.keys(f.groups);
  f.fit.forEach((r, i) => r.group && !declared.includes(r.group) && out.push({ path: ['fit', i, 'group'], message: `group "${r.group}" is not declared under groups:` }));
  f.engagement.forEach(
    (r, i) => r.group && !declared.includes(r.group) && out.push({ path: ['engagement', i, 'group'], message: `group "${r.group}" is not declared under groups:` }),
  );
  for (const s of ['engaged', 'mql'] as const) {
    const t = f.stages[s];
    if (!t) continue;
    if (t.fit === undefined && t.engagement === undefined && t.score === undefined) {
      out.push({ path: ['stages', s], message: 'needs at least one of fit, engagement, score' });
    }
    const back = t.fall_back_below;
    if (!back) continue;
    for (const k of ['fit', 'engagement', 'score'] as const) {
      const b = back[k];
      if (b === undefined) continue;
      const enter = t[k];
      if (enter === undefined) out.push({ path: ['stages', s, 'fall_back_below', k], message: `has no ${k} threshold to fall back from` });
      else if (b >= enter) out.push({ path: ['stages', s, 'fall_back_below', k], message: `${b} must be below the ${k} threshold ${enter}, or contacts would flap` });
    }
  }
  return out;
}
