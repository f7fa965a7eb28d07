import { z } from 'zod';
import { zoneProblem } from './zones.js';
import { parseDuration } from './duration.js';
import { localDateProblem } from './local-date.js';
import { expandDays, parseTimeOfDay } from './time-rules.js';
import type { DurationSpec, SendWindow, WaitSpec, Weekday } from './time-types.js';
import { EVENT_TYPE, EVENT_TYPE_HINT, SLUG, TEMPLATE_NAME } from './names.js';
import { closestNames, didYouMean } from './suggest.js';

/**
 * The sequence file format. Marketers write steps in a short form (`- email: welcome`,
 * `- wait: 2 days`); `normaliseStep` turns each into `{ kind, ... }` so the rest of the schema
 * is an ordinary discriminated union. Paths in errors stay those of the file (`steps[2].wait`).
 */

export const STEP_KINDS = [
  'email',
  'postcard',
  'letter',
  'call',
  'wait',
  'repeat',
  'wait_for',
  'if',
  'tag',
  'untag',
  'set',
  'start',
  'notify',
] as const;
export type StepKind = (typeof STEP_KINDS)[number];


export const BUILT_IN_EVENTS = [
  'opt_in',
  'email_opened',
  'email_clicked',
  'replied',
  'page_visited',
  'appointment_requested',
  'info_requested',
  'unsubscribed',
  'bounced',
  // Made by the engine when a contact's stage changes (data: from, to, reason).
  'stage_changed',
  // A person (or the CRM) sets the stage (data: to, reason): `nurture contacts stage`.
  'stage_set',
  // Made by the engine when staff complete a task (data: taskId, kind, outcome, title, and for a
  // sequence's task enrollmentId, sequence, step, touchId): `nurture tasks done`.
  'task_completed',
] as const;

// ---- leaves -------------------------------------------------------------------------------

const duration = z.union([z.string(), z.number()]).transform((raw, ctx): DurationSpec => {
  if (typeof raw === 'number') {
    ctx.addIssue({ code: 'custom', message: `${raw} has no unit: write e.g. "${raw} days"` });
    return z.NEVER;
  }
  const parsed = parseDuration(raw);
  if (!parsed.ok) {
    ctx.addIssue({ code: 'custom', message: parsed.error });
    return z.NEVER;
  }
  return parsed.value;
});

/** A string that must pass `problem` (null when fine); the message names the value given. */
function checked(problem: (s: string) => string | null) {
  return z.string().superRefine((s, ctx) => {
    const message = problem(s);
    if (message !== null) ctx.addIssue({ code: 'custom', message });
  });
}

/** The value a person probably meant: lower-case, spaces as `sep`, when that has the right shape. */
function reshaped(value: string, shape: RegExp, sep: string): string[] {
  const guess = value.trim().toLowerCase().replace(/\.hbs$/, '').replace(/\s+/g, sep);
  return guess !== value && shape.test(guess) ? [guess] : [];
}

function named(shape: RegExp, what: string, sep: string) {
  return checked((s) => (shape.test(s) ? null : `"${s}" is not ${what}${didYouMean(reshaped(s, shape, sep))}`));
}

const timeOfDay = checked((s) => (parseTimeOfDay(s) !== null ? null : `"${s}" is not a time of day: write "HH:MM", e.g. "09:30"`));

const days = z.union([z.string(), z.array(z.string())]).transform((raw, ctx): Weekday[] => {
  const r = expandDays(raw);
  if ('error' in r) {
    ctx.addIssue({ code: 'custom', message: r.error });
    return z.NEVER;
  }
  return r;
});

const zone = checked(zoneProblem);

const localDate = checked(localDateProblem);

const stepId = named(SLUG, 'a step id (lower-case letters, digits, "-" or "_")', '-');
const sequenceId = named(SLUG, 'a sequence id (lower-case letters, digits, "-" or "_")', '-');
const templateName = named(TEMPLATE_NAME, 'a template name (lower-case letters, digits, "-", "_", "/")', '-');
/** Why `s` is not an event type, with the likely fix ("Webinar Attended" -> "webinar_attended"); null when it is one. */
export function eventTypeProblem(s: string): string | null {
  if (EVENT_TYPE.test(s)) return null;
  const guesses = reshaped(s, EVENT_TYPE, '_');
  const builtIn = closestNames(guesses[0] ?? s.toLowerCase(), BUILT_IN_EVENTS, 2);
  return `"${s}" is not an event type (${EVENT_TYPE_HINT})${didYouMean([...new Set([...guesses, ...builtIn])].slice(0, 2))}`;
}
const eventType = checked(eventTypeProblem);

const scalar = z.union([z.string(), z.number(), z.boolean()]);
/** `where` on an event: every key must equal (or be one of) the given value(s) in the event's data. */
const where = z.record(z.string(), z.union([scalar, z.array(scalar)]));

export const sendWindowSchema = z
  .strictObject({ days: days.default(['mon', 'tue', 'wed', 'thu', 'fri']), from: timeOfDay, to: timeOfDay })
  .refine((w) => w.from !== w.to, { message: 'from and to must differ' });

const waitValue = z.union([
  duration.transform((d): WaitSpec => ({ kind: 'for', duration: d })),
  z
    .strictObject({ for: duration })
    .transform((w): WaitSpec => ({ kind: 'for', duration: w.for })),
  z
    .strictObject({ until: timeOfDay, on: days.optional() })
    .transform((w): WaitSpec => ({ kind: 'until', at: w.until, on: w.on ?? [] })),
]);

export const eventMatcherSchema = z.strictObject({
  event: eventType,
  where: where.optional(),
});
export type EventMatcher = z.output<typeof eventMatcherSchema>;

// ---- conditions ---------------------------------------------------------------------------

export type Condition =
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  | { tag: string }
  | { attribute: string; equals?: string | number | boolean; in?: (string | number | boolean)[]; exists?: boolean }
  | { has: 'firstName' | 'lastName' | 'phone' | 'address' }
  | { opened: string }
  | { clicked: string }
  | { score: { gte?: number; gt?: number; lte?: number; lt?: number } }
  | { event: string; where?: Record<string, unknown>; within?: DurationSpec };

export const conditionSchema: z.ZodType<Condition, unknown> = z.lazy(() =>
  z.union([
    z.strictObject({ all: z.array(conditionSchema).min(1) }),
    z.strictObject({ any: z.array(conditionSchema).min(1) }),
    z.strictObject({ not: conditionSchema }),
    z.strictObject({ tag: z.string().min(1) }),
    z
      .strictObject({
        attribute: z.string().min(1),
        equals: scalar.optional(),
        in: z.array(scalar).optional(),
        exists: z.boolean().optional(),
      })
      .refine((c) => [c.equals, c.in, c.exists].filter((v) => v !== undefined).length === 1, {
        message: 'an attribute condition needs exactly one of equals, in, exists',
      }),
    z.strictObject({ has: z.enum(['firstName', 'lastName', 'phone', 'address']) }),
    z.strictObject({ opened: stepId }),
    z.strictObject({ clicked: stepId }),
    z.strictObject({
      score: z
        .strictObject({ gte: z.number().optional(), gt: z.number().optional(), lte: z.number().optional(), lt: z.number().optional() })
        // Not after an unknown key: `{ gtee: 10 }` needs "did you mean gte", not this too.
        .refine((s) => Object.keys(s).length > 0, { message: 'give at least one of gte, gt, lte, lt', when: (p) => p.issues.length === 0 }),
    }),
    z.strictObject({ event: eventType, where: where.optional(), within: duration.optional() }),
  ]),
);

// ---- steps --------------------------------------------------------------------------------

interface StepBase {
  id?: string | undefined;
}
export type StepInput = unknown;

export type Step =
  | (StepBase & { kind: 'email'; template: string; send_window?: SendWindow | undefined })
  | (StepBase & { kind: 'postcard' | 'letter'; template: string; due: DurationSpec })
  | (StepBase & { kind: 'call'; note: string; due: DurationSpec; priority: 'normal' | 'high' })
  | (StepBase & { kind: 'wait'; wait: WaitSpec })
  | (StepBase & { kind: 'repeat'; every: DurationSpec; times: number; steps: Step[] })
  | (StepBase & {
      kind: 'wait_for';
      matcher: EventMatcher;
      step?: string | undefined;
      timeout: DurationSpec;
      on_event: Step[];
      on_timeout: Step[];
    })
  | (StepBase & { kind: 'if'; condition: Condition; then: Step[]; else: Step[] })
  | (StepBase & { kind: 'tag' | 'untag'; tags: string[] })
  | (StepBase & { kind: 'set'; values: Record<string, string | number | boolean | null> })
  | (StepBase & { kind: 'start'; sequence: string })
  | (StepBase & { kind: 'notify'; note: string; to?: string | undefined });

const DEFAULT_MAIL_DUE: DurationSpec = { kind: 'business_days', days: 2, text: '2 business days' };
const DEFAULT_CALL_DUE: DurationSpec = { kind: 'calendar', parts: { days: 1 }, text: '1 day' };

const steps: z.ZodType<Step[], unknown> = z.lazy(() => z.array(stepSchema));
const stringList = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]));

const stepVariants = z.discriminatedUnion('kind', [
  z
    .strictObject({
      kind: z.literal('email'),
      id: stepId.optional(),
      email: z.union([templateName, z.strictObject({ template: templateName })]),
      send_window: sendWindowSchema.optional(),
    })
    .transform((s): Step => ({
      kind: 'email',
      id: s.id,
      template: typeof s.email === 'string' ? s.email : s.email.template,
      send_window: s.send_window,
    })),
  ...(['postcard', 'letter'] as const).map((kind) =>
    z
      .strictObject({
        kind: z.literal(kind),
        id: stepId.optional(),
        [kind]: z.union([templateName, z.strictObject({ template: templateName, due: duration.optional() })]),
        due: duration.optional(),
      })
      .transform((s): Step => {
        const v = s[kind] as string | { template: string; due?: DurationSpec };
        const template = typeof v === 'string' ? v : v.template;
        const due = (typeof v === 'string' ? undefined : v.due) ?? (s.due as DurationSpec | undefined) ?? DEFAULT_MAIL_DUE;
        return { kind, id: s.id as string | undefined, template, due };
      }),
  ),
  z
    .strictObject({
      kind: z.literal('call'),
      id: stepId.optional(),
      call: z.union([
        z.string().min(1),
        z.strictObject({ note: z.string().min(1), due: duration.optional(), priority: z.enum(['normal', 'high']).optional() }),
      ]),
    })
    .transform((s): Step => {
      const c = typeof s.call === 'string' ? { note: s.call } : s.call;
      return { kind: 'call', id: s.id, note: c.note, due: ('due' in c && c.due) || DEFAULT_CALL_DUE, priority: ('priority' in c && c.priority) || 'normal' };
    }),
  z
    .strictObject({ kind: z.literal('wait'), id: stepId.optional(), wait: waitValue })
    .transform((s): Step => ({ kind: 'wait', id: s.id, wait: s.wait })),
  z
    .strictObject({
      kind: z.literal('repeat'),
      id: stepId.optional(),
      repeat: z.strictObject({ every: duration, times: z.number().int().min(1).max(1000), steps }),
    })
    .transform((s): Step => ({ kind: 'repeat', id: s.id, ...s.repeat })),
  z
    .strictObject({
      kind: z.literal('wait_for'),
      id: stepId.optional(),
      wait_for: z.strictObject({ event: eventType, where: where.optional(), step: stepId.optional(), timeout: duration }),
      on_event: steps.optional(),
      on_timeout: steps.optional(),
    })
    .transform((s): Step => ({
      kind: 'wait_for',
      id: s.id,
      matcher: { event: s.wait_for.event, where: s.wait_for.where },
      step: s.wait_for.step,
      timeout: s.wait_for.timeout,
      on_event: s.on_event ?? [],
      on_timeout: s.on_timeout ?? [],
    })),
  z
    .strictObject({
      kind: z.literal('if'),
      id: stepId.optional(),
      if: conditionSchema,
      then: steps,
      else: steps.optional(),
    })
    .transform((s): Step => ({ kind: 'if', id: s.id, condition: s.if, then: s.then, else: s.else ?? [] })),
  ...(['tag', 'untag'] as const).map((kind) =>
    z
      .strictObject({ kind: z.literal(kind), id: stepId.optional(), [kind]: stringList })
      .transform((s): Step => ({ kind, id: s.id as string | undefined, tags: s[kind] as string[] })),
  ),
  z
    .strictObject({
      kind: z.literal('set'),
      id: stepId.optional(),
      set: z.record(z.string().min(1), z.union([scalar, z.null()])).refine((r) => Object.keys(r).length > 0, {
        message: 'set needs at least one attribute',
      }),
    })
    .transform((s): Step => ({ kind: 'set', id: s.id, values: s.set })),
  z
    .strictObject({ kind: z.literal('start'), id: stepId.optional(), start: sequenceId })
    .transform((s): Step => ({ kind: 'start', id: s.id, sequence: s.start })),
  z
    .strictObject({
      kind: z.literal('notify'),
      id: stepId.optional(),
      notify: z.union([z.string().min(1), z.strictObject({ note: z.string().min(1), to: z.string().optional() })]),
    })
    .transform((s): Step => {
      const n = typeof s.notify === 'string' ? { note: s.notify } : s.notify;
      return { kind: 'notify', id: s.id, note: n.note, to: 'to' in n ? n.to : undefined };
    }),
]);

/** Keys a step may have besides its kind key. */
const STEP_FIELDS = new Set(['id', 'send_window', 'due', 'on_event', 'on_timeout', 'then', 'else']);

/** Finds the one kind key of a short-form step and copies it into `kind`. */
function normaliseStep(raw: unknown, ctx: z.RefinementCtx): unknown {
  if (typeof raw === 'string' && (STEP_KINDS as readonly string[]).includes(raw)) {
    ctx.addIssue({ code: 'custom', message: `"${raw}" needs a value, e.g. "- ${raw}: ..."` });
    return z.NEVER;
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    ctx.addIssue({ code: 'custom', message: `a step must be a map with one of: ${STEP_KINDS.join(', ')}` });
    return z.NEVER;
  }
  const kinds = Object.keys(raw).filter((k) => (STEP_KINDS as readonly string[]).includes(k));
  if (kinds.length !== 1) {
    const found = kinds.length === 0 ? `none of them (keys: ${Object.keys(raw).join(', ') || 'none'})` : kinds.join(' and ');
    // A misspelt kind is the likely story, but not for the other fields a step may have ("id" is one edit from "if").
    const guesses = kinds.length > 0 ? [] : Object.keys(raw).filter((k) => !STEP_FIELDS.has(k)).flatMap((k) => closestNames(k, STEP_KINDS));
    ctx.addIssue({ code: 'custom', message: `a step needs exactly one of ${STEP_KINDS.join(', ')}; found ${found}${didYouMean([...new Set(guesses)])}` });
    return z.NEVER;
  }
  return { ...raw, kind: kinds[0] };
}

export const stepSchema: z.ZodType<Step, unknown> = z.preprocess(normaliseStep, stepVariants) as unknown as z.ZodType<Step, unknown>;

// ---- the sequence -------------------------------------------------------------------------

const triggerSchema = z
  .union([eventMatcherSchema, z.array(eventMatcherSchema).min(1)])
  .transform((t) => (Array.isArray(t) ? t : [t]));

const exitSchema = z.union([eventMatcherSchema, z.strictObject({ promoted: z.literal('lead') })]);

const reentrySchema = z
  .union([z.enum(['once', 'always']), z.strictObject({ after: duration })])
  .default('once');

/** Click and open tracking of the sequence's emails (both on by default, unless turned off globally). */
export const trackingSchema = z.strictObject({ clicks: z.boolean().optional(), opens: z.boolean().optional() });
export type TrackingSettings = z.output<typeof trackingSchema>;

export const sequenceSchema = z
  .strictObject({
    $schema: z.string().optional(),
    id: sequenceId,
    name: z.string().optional(),
    description: z.string().optional(),
    timezone: zone.optional(),
    trigger: triggerSchema,
    reentry: reentrySchema,
    exit: z.array(exitSchema).default([{ promoted: 'lead' }]),
    goals: z.array(eventMatcherSchema).default([]),
    send_window: sendWindowSchema.optional(),
    holidays: z.array(localDate).default([]),
    on_edit: z.enum(['migrate', 'stay']).default('migrate'),
    tracking: trackingSchema.optional(),
    /** A topic of topics.yaml: a contact who left it gets none of this sequence's emails. */
    topic: z.string().regex(SLUG, 'is not a topic id: lower-case letters, digits, "-" and "_" (e.g. "newsletter")').optional(),
    steps: steps.refine((s) => s.length > 0, { message: 'a sequence needs at least one step' }),
  });

export type SequenceDefinition = z.output<typeof sequenceSchema>;
export type SequenceInput = z.input<typeof sequenceSchema>;
export type ExitRule = z.output<typeof exitSchema>;
export type ReentryPolicy = z.output<typeof reentrySchema>;
