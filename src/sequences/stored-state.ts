import { z } from 'zod';
import type { EnrollmentState } from './advance.js';
import type { Condition, SequenceDefinition, Step } from './schema.js';
import type { DurationSpec, SendWindow, WaitSpec, Weekday } from './time-types.js';


/**
 * What the database holds as JSON (enrollments.state, sequence_versions.definition) is parsed
 * like any other input: each shape is a numbered version with its own zod schema, and an older
 * version is brought up to date by a chain of upgrade functions (v1 → v2 → …). A contact pinned
 * for months to an old version (`on_edit: stay`) keeps working when the shape of a step or of
 * the state changes: add a schema, an upgrade and its test, never edit an old schema.
 * A stored value without `v` is v1 (rows written before the field existed). Pure.
 */

export type StoredParse<T> = { ok: true; value: T; from: number } | { ok: false; path: string; message: string; version: unknown };

interface Versioned<T> {
  /** The version written today. */
  current: number;
  parse(raw: unknown): StoredParse<T>;
}

/** One older version: how to read it, and how to turn it into the input of the next version. */
interface OldVersion {
  read(raw: unknown): { ok: true; next: unknown } | { ok: false; issue: z.core.$ZodIssue };
}

function upgradeFrom<A>(schema: z.ZodType<A>, upgrade: (old: A) => unknown): OldVersion {
  return {
    read(raw) {
      const r = schema.safeParse(raw);
      return r.success ? { ok: true, next: upgrade(r.data) } : { ok: false, issue: r.error.issues[0]! };
    },
  };
}

function failure(issue: z.core.$ZodIssue, at: number, version: unknown): { ok: false; path: string; message: string; version: unknown } {
  return { ok: false, path: issue.path.map(String).join('.') || '(root)', message: `${issue.message} (as version ${at})`, version };
}

/** `old[i]` reads version i + 1 and upgrades it; `last` is the shape written today. */
function versioned<T>(old: readonly OldVersion[], last: z.ZodType<T>): Versioned<T> {
  const current = old.length + 1;
  return {
    current,
    parse(raw) {
      const v = raw !== null && typeof raw === 'object' && 'v' in raw ? raw.v : 1;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > current) {
        return { ok: false, path: 'v', message: `unknown version ${JSON.stringify(v)} (this build reads 1 to ${current}: is a newer Nurture writing to this database?)`, version: v };
      }
      let value: unknown = raw;
      for (let i = v - 1; i < old.length; i++) {
        const r = old[i]!.read(value);
        if (!r.ok) return failure(r.issue, i + 1, v);
        value = r.next;
      }
      const r = last.safeParse(value);
      return r.success ? { ok: true, value: r.data, from: v } : failure(r.error.issues[0]!, current, v);
    },
  };
}

// ---- enrollment state -----------------------------------------------------------------------

const iso = z.string().min(1);
const pendingSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('wait'), until: iso }),
  z.strictObject({ kind: z.literal('wait_for'), until: iso }),
  z.strictObject({ kind: z.literal('deferred'), until: iso, reason: z.enum(['send_window', 'frequency_cap', 'edited']) }),
]);

const stateFields = {
  pc: z.number().int().min(0),
  at: z.string().nullable(),
  loops: z.record(z.string(), z.number().int().min(0)),
  anchors: z.record(z.string(), iso).optional(),
  clock: iso,
  pending: pendingSchema.nullable(),
};

/** v1: the shape written until 2026-12 (`v: 1`, or no `v`). */
const stateV1 = z.strictObject({ v: z.literal(1).optional(), ...stateFields });
/** v2: the same fields. The step exists so the chain and its tests are in place before a real change needs them. */
const stateV2 = z.strictObject({ v: z.literal(2), ...stateFields }) satisfies z.ZodType<EnrollmentState>;

export const ENROLLMENT_STATE = versioned<EnrollmentState>([upgradeFrom(stateV1, (s) => ({ ...s, v: 2 }))], stateV2);

export function parseEnrollmentState(raw: unknown): StoredParse<EnrollmentState> {
  return ENROLLMENT_STATE.parse(raw);
}

// ---- sequence definitions (the compiled output of sequenceSchema, as stored) -----------------

const weekday = z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']) satisfies z.ZodType<Weekday>;
const calendarParts = z.strictObject({
  years: z.number().optional(),
  months: z.number().optional(),
  weeks: z.number().optional(),
  days: z.number().optional(),
  hours: z.number().optional(),
  minutes: z.number().optional(),
  seconds: z.number().optional(),
});
const durationSpec: z.ZodType<DurationSpec> = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('calendar'), parts: calendarParts, text: z.string() }),
  z.strictObject({ kind: z.literal('business_days'), days: z.number(), text: z.string() }),
]);
const waitSpec: z.ZodType<WaitSpec> = z.union([
  z.strictObject({ kind: z.literal('for'), duration: durationSpec }),
  z.strictObject({ kind: z.literal('until'), at: z.string(), on: z.array(weekday) }),
]);
const sendWindow: z.ZodType<SendWindow> = z.strictObject({ days: z.array(weekday), from: z.string(), to: z.string() });
const scalar = z.union([z.string(), z.number(), z.boolean()]);
const where = z.record(z.string(), z.union([scalar, z.array(scalar)]));
const matcher = z.strictObject({ event: z.string(), where: where.optional() });

const condition: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    z.strictObject({ all: z.array(condition) }),
    z.strictObject({ any: z.array(condition) }),
    z.strictObject({ not: condition }),
    z.strictObject({ tag: z.string() }),
    z.strictObject({ attribute: z.string(), equals: scalar.optional(), in: z.array(scalar).optional(), exists: z.boolean().optional() }),
    z.strictObject({ has: z.enum(['firstName', 'lastName', 'phone', 'address']) }),
    z.strictObject({ opened: z.string() }),
    z.strictObject({ clicked: z.string() }),
    z.strictObject({ score: z.strictObject({ gte: z.number().optional(), gt: z.number().optional(), lte: z.number().optional(), lt: z.number().optional() }) }),
    z.strictObject({ event: z.string(), where: z.record(z.string(), z.unknown()).optional(), within: durationSpec.optional() }),
  ]),
);

const id = z.string().optional();
const step: z.ZodType<Step> = z.lazy(() =>
  z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('email'), id, template: z.string(), send_window: sendWindow.optional() }),
    z.strictObject({ kind: z.enum(['postcard', 'letter']), id, template: z.string(), due: durationSpec }),
    z.strictObject({ kind: z.literal('call'), id, note: z.string(), due: durationSpec, priority: z.enum(['normal', 'high']) }),
    z.strictObject({ kind: z.literal('wait'), id, wait: waitSpec }),
    z.strictObject({ kind: z.literal('repeat'), id, every: durationSpec, times: z.number().int(), steps: z.array(step) }),
    z.strictObject({
      kind: z.literal('wait_for'),
      id,
      matcher,
      step: z.string().optional(),
      timeout: durationSpec,
      on_event: z.array(step),
      on_timeout: z.array(step),
    }),
    z.strictObject({ kind: z.literal('if'), id, condition, then: z.array(step), else: z.array(step) }),
    z.strictObject({ kind: z.enum(['tag', 'untag']), id, tags: z.array(z.string()) }),
    z.strictObject({ kind: z.literal('set'), id, values: z.record(z.string(), z.union([scalar, z.null()])) }),
    z.strictObject({ kind: z.literal('start'), id, sequence: z.string() }),
    z.strictObject({ kind: z.literal('notify'), id, note: z.string(), to: z.string().optional() }),
  ]),
);

const definitionFields = {
  $schema: z.string().optional(),
  id: z.string().min(1),
  name: z.string().optional(),
  description: z.string().optional(),
  timezone: z.string().optional(),
  trigger: z.array(matcher),
  reentry: z.union([z.enum(['once', 'always']), z.strictObject({ after: durationSpec })]),
  exit: z.array(z.union([matcher, z.strictObject({ promoted: z.literal('lead') })])),
  goals: z.array(matcher),
  send_window: sendWindow.optional(),
  holidays: z.array(z.string()),
  on_edit: z.enum(['migrate', 'stay']),
  tracking: z.strictObject({ clicks: z.boolean().optional(), opens: z.boolean().optional() }).optional(),
  steps: z.array(step),
};

/** v1: the definition as stored until 2026-12, with no `v` (or `v: 1`). */
const definitionV1 = z
  .strictObject({ v: z.literal(1).optional(), ...definitionFields })
  .transform(({ v: _v, ...def }): SequenceDefinition => def);

export const SEQUENCE_DEFINITION = versioned<SequenceDefinition>([], definitionV1);

export function parseSequenceDefinition(raw: unknown): StoredParse<SequenceDefinition> {
  return SEQUENCE_DEFINITION.parse(raw);
}

/** The JSON to store: the definition with the version it is written in. */
export function storedDefinition(def: SequenceDefinition): Record<string, unknown> {
  return { ...def, v: SEQUENCE_DEFINITION.current };
}
