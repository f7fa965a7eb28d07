import { createHash } from 'node:crypto';
import { DateTime } from 'luxon';
import { z } from 'zod';
import { EVENT_TYPE, EVENT_TYPE_HINT } from './names.js';
import { STAGES } from './stage.js';
import type { DurationSpec } from './time-types.js';
import { isValidZone } from './zones.js';

/**
 * The event format producers put on the events queue. Parsed at the boundary, so everything past
 * `parseEvent` can trust types, lower-cased emails and a valid instant.
 */
export const MAX_EVENT_BYTES = 64 * 1024;

const addressSchema = z.strictObject({
  line1: z.string().min(1).max(200),
  line2: z.string().max(200).optional(),
  city: z.string().min(1).max(100),
  region: z.string().max(100).optional(),
  postalCode: z.string().min(1).max(20),
  country: z.string().min(2).max(56),
});

export const contactSchema = z.strictObject({
  email: z
    .string()
    .trim()
    .max(254)
    .pipe(z.email({ message: 'is not an email address' }))
    .transform((e) => e.toLowerCase()),
  firstName: z.string().trim().max(100).optional(),
  lastName: z.string().trim().max(100).optional(),
  phone: z.string().trim().regex(/^\+?[0-9 ().-]{5,20}$/, 'is not a phone number').optional(),
  timezone: z
    .string()
    .refine((s) => isValidZone(s), { message: 'is not an IANA time zone (e.g. "America/Chicago")' })
    .optional(),
  address: addressSchema.optional(),
  attributes: z.record(z.string(), z.unknown()).optional(),
});

export const eventSchema = z.strictObject({
  id: z.string().min(1).max(200),
  type: z.string().regex(EVENT_TYPE, `is not an event type (${EVENT_TYPE_HINT})`),
  // An instant needs its offset (or Z): a bare local time would mean whatever zone the worker runs in.
  // Optional: a producer that does not know when it happened leaves it out (or null) and the
  // time the event was received stands in, flagged as such.
  occurredAt: z.iso
    .datetime({ offset: true, message: 'is not an ISO 8601 instant with Z or an offset (e.g. "2026-11-22T10:00:00Z")' })
    .superRefine((s, ctx) => {
      const problem = instantProblem(s);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .nullish(),
  contact: contactSchema,
  data: z.record(z.string(), z.unknown()).default({}),
});

/**
 * The other two ways an event may name its contact (see "Subjects" in the README): by the
 * contact's id (`contact.id`, a UUID; the other contact fields may refresh it, the email cannot
 * change), or by a touch (`touch.id`: the touch id or the email's Message-ID, all a click or a
 * bounce from a mail provider knows). The engine resolves them to the contact when it applies the
 * event; an unknown one is a rejected event.
 */
export const contactByIdSchema = contactSchema.omit({ email: true }).extend({ id: z.uuid({ message: 'is not a contact id (a UUID)' }) });
export const touchSubjectSchema = z.strictObject({
  id: z
    .string()
    .trim()
    .min(1)
    .max(998)
    .transform((s) => s.replace(/^<|>$/g, '')),
});
const contactIdEventSchema = eventSchema.extend({ contact: contactByIdSchema });
const touchEventSchema = eventSchema.omit({ contact: true }).extend({ touch: touchSubjectSchema });

type SchemaEvent = z.output<typeof eventSchema>;
/** How an applied event named its contact, when it was not by email (kept for the touch it ties to). */
export type ResolvedSubject = { by: 'contact'; contactId: string } | { by: 'touch'; touchId: string };
/**
 * An event the engine can apply: its contact named by email (given, or resolved from another
 * subject). `occurredAt` is always set; `occurredAtDefaulted` says the producer left it out.
 */
export type NurtureEvent = Omit<SchemaEvent, 'occurredAt'> & { occurredAt: string; occurredAtDefaulted?: boolean; subject?: ResolvedSubject };
type Parsed<T> = Omit<T, 'occurredAt'> & { occurredAt: string; occurredAtDefaulted?: boolean };
/** An event that names its contact by id. */
export type ContactIdEvent = Parsed<z.output<typeof contactIdEventSchema>>;
/** An event that names its contact by a touch (touch id or Message-ID). */
export type TouchEvent = Parsed<z.output<typeof touchEventSchema>>;
/** Any event as received: by email, by contact id, or by touch. */
export type IncomingEvent = NurtureEvent | ContactIdEvent | TouchEvent;
export type NurtureEventInput = z.input<typeof eventSchema>;
export type IncomingEventInput = NurtureEventInput | z.input<typeof contactIdEventSchema> | z.input<typeof touchEventSchema>;

export type ParsedEvent = { ok: true; event: IncomingEvent } | { ok: false; field: string; reason: string; eventId: string | undefined };

/** The schema for a payload, by the subject it names (each keeps its own field-level messages). */
function schemaFor(value: Record<string, unknown>): { schema: typeof eventSchema | typeof contactIdEventSchema | typeof touchEventSchema } | { field: string; message: string } {
  const contact = value['contact'];
  if ('touch' in value) {
    if (contact !== undefined) return { field: 'touch', message: 'touch: name the contact by "contact" or by "touch", not both' };
    return { schema: touchEventSchema };
  }
  if (contact === undefined) return { field: 'contact', message: 'contact is required: name the contact by contact.email, contact.id or touch.id' };
  if (isRecord(contact) && 'id' in contact) {
    if ('email' in contact) return { field: 'contact.id', message: "contact.id: give the contact's email or its id, not both" };
    return { schema: contactIdEventSchema };
  }
  return { schema: eventSchema };
}

export interface ParseEventOptions {
  /** The clock of the receiver: an event from further ahead than `maxFutureSkew` is refused. */
  now: DateTime;
  /** When the event was received (default `now`): stands in for a missing `occurredAt`. */
  receivedAt?: DateTime | undefined;
  /** Default 5 minutes (NURTURE_MAX_FUTURE_SKEW). */
  maxFutureSkew?: DurationSpec | undefined;
}

export const DEFAULT_MAX_FUTURE_SKEW: DurationSpec = { kind: 'calendar', parts: { minutes: 5 }, text: '5 minutes' };

/** Nesting allowed inside `data` and `contact.attributes` (a path of more keys than this is refused). */
export const MAX_DATA_DEPTH = 8;
/** Anywhere else the event format itself is at most 3 deep: this only bounds the walk. */
const MAX_OTHER_DEPTH = 12;

/** PostgreSQL stores years 1 to 294276 and has no year 0000 ("0001-01-01 BC" is the year before 1). */
function instantProblem(s: string): string | undefined {
  if (/^0000/.test(s)) return 'has the year 0000, which does not exist (PostgreSQL cannot store it)';
  // Runs for every event: plain arithmetic rather than luxon. Date.parse alone takes 2026-02-30.
  const ymd = /^(\d{4})-(\d{2})-(\d{2})/.exec(s);
  const ms = Date.parse(s);
  if (!ymd || Number.isNaN(ms) || Number(ymd[3]) > daysInMonth(Number(ymd[1]), Number(ymd[2]))) return 'is not a valid date and time';
  if (ms < FIRST_INSTANT_MS) return 'is before the year 1';
  return undefined;
}

/** 0001-01-01T00:00:00Z, the first instant PostgreSQL's timestamptz holds in the common era. */
const FIRST_INSTANT_MS = -62_135_596_800_000;

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
}

/**
 * Accepts a raw job payload (object or JSON text); never throws. Pure given `now`. Refuses what
 * would not be stored faithfully (NUL, lone surrogates, `__proto__` keys, deep nesting, instants
 * PostgreSQL cannot hold), naming the field and the value given.
 */
export function parseEvent(raw: unknown, o: ParseEventOptions): ParsedEvent {
  try {
    return parseEventUnsafe(raw, o);
  } catch (err) {
    // Not expected: the checks in parseEventUnsafe come first so nothing below them throws. Total all the same.
    return { ok: false, field: '', reason: `event could not be read: ${String((err as Error)?.message ?? err)}`, eventId: undefined };
  }
}

function parseEventUnsafe(raw: unknown, o: ParseEventOptions): ParsedEvent {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      return { ok: false, field: '', reason: `payload is not valid JSON: ${quote(raw)}`, eventId: undefined };
    }
  }
  const id = isRecord(value) ? value['id'] : undefined;
  const eventId = typeof id === 'string' ? id : undefined;
  const fail = (field: string, reason: string): ParsedEvent => ({ ok: false, field, reason, eventId });
  if (!isRecord(value)) return fail('', `event: must be a JSON object, got ${kindOf(value)}`);
  const unstorable = findUnstorable(value);
  if (unstorable) return fail(unstorable.field, `${unstorable.field}: ${unstorable.message}`);
  // Safe now: the walk bounded the nesting, so this cannot overflow the stack.
  const size = Buffer.byteLength(typeof raw === 'string' ? raw : JSON.stringify(value), 'utf8');
  if (size > MAX_EVENT_BYTES) return fail('', `event is ${size} bytes; the limit is ${MAX_EVENT_BYTES}`);

  const chosen = schemaFor(value);
  if ('field' in chosen) return fail(chosen.field, chosen.message);
  const parsed = chosen.schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = pathOf(issue.path);
    const given = valueAt(value, issue.path);
    if (given === undefined && issue.code === 'invalid_type') return fail(field, `${field || 'event'} is required`);
    const shown = typeof given === 'string' ? `${quote(given)} ` : '';
    return fail(field, `${field || 'event'}: ${shown}${issue.message}`);
  }
  const { occurredAt, ...rest } = parsed.data;
  // A stage set from outside must name a stage: applied as a no-op otherwise, it would vanish without a word.
  if (rest.type === 'stage_set') {
    const to = (rest.data as Record<string, unknown> | undefined)?.['to'];
    if (typeof to !== 'string' || !(STAGES as readonly string[]).includes(to)) {
      return fail('data.to', `data.to: ${typeof to === 'string' ? `${quote(to)} ` : ''}is not a stage (${STAGES.join(', ')})`);
    }
  }
  const receivedAt = o.receivedAt ?? o.now;
  if (occurredAt === undefined || occurredAt === null) {
    return { ok: true, event: { ...rest, occurredAt: receivedAt.toUTC().toISO()!, occurredAtDefaulted: true } };
  }
  const skew = o.maxFutureSkew ?? DEFAULT_MAX_FUTURE_SKEW;
  const limit = skew.kind === 'calendar' ? o.now.plus(skew.parts) : o.now.plus({ days: skew.days });
  const at = Date.parse(occurredAt);
  if (at > limit.toMillis()) {
    return fail(
      'occurredAt',
      `occurredAt: ${quote(occurredAt)} is ${roughly(at - o.now.toMillis())} ahead of the time it was received (${o.now.toUTC().toISO()}); at most ${skew.text} is allowed (NURTURE_MAX_FUTURE_SKEW)`,
    );
  }
  return { ok: true, event: { ...rest, occurredAt } };
}

/** The event as a producer would send it: what a defaulted `occurredAt` came from is left out again. */
export function toWire(e: NurtureEvent): NurtureEventInput;
export function toWire(e: IncomingEvent): IncomingEventInput;
export function toWire(e: IncomingEvent): IncomingEventInput {
  const { occurredAtDefaulted, occurredAt, ...rest } = e;
  if ('subject' in rest) delete rest.subject;
  return occurredAtDefaulted ? rest : { ...rest, occurredAt };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `a string (${quote(v)})`;
  return `a ${typeof v} (${quote(String(v))})`;
}

/** A value for a message: JSON-quoted (so NUL and lone surrogates show as escapes), cut to 80 characters. */
export function quote(s: string): string {
  let cut = s.length > 80 ? s.slice(0, 80) : s;
  if (/[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  return `${JSON.stringify(cut)}${cut.length < s.length ? '…' : ''}`;
}

function roughly(ms: number): string {
  const minutes = ms / 60_000;
  if (minutes < 120) return `${Math.round(minutes)} minutes`;
  if (minutes < 48 * 60) return `${Math.round(minutes / 60)} hours`;
  const days = minutes / (24 * 60);
  if (days < 730) return `${Math.round(days)} days`;
  return `${(days / 365.25).toFixed(1)} years`;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const p of path) {
    if (typeof v !== 'object' || v === null || !Object.hasOwn(v, p)) return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function pathOf(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? escapeUnstorable(String(p)) : `.${escapeUnstorable(String(p))}`)).join('');
}

/** NUL and lone surrogates written as JSON escapes (`\\u0000`), so PostgreSQL text holds the string as it was. */
export function escapeUnstorable(s: string): string {
  return s.replace(UNSTORABLE_CHAR, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

// NUL (PostgreSQL text and jsonb cannot hold it) and UTF-16 halves without their other half.
const UNSTORABLE_CHAR = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function charProblem(s: string): string | undefined {
  UNSTORABLE_CHAR.lastIndex = 0;
  const m = UNSTORABLE_CHAR.exec(s);
  if (!m) return undefined;
  if (m[0] === '\u0000') return 'contains a NUL character, which cannot be stored';
  return `contains a lone surrogate (\\u${m[0].charCodeAt(0).toString(16)}), which is not valid Unicode`;
}

/**
 * The first thing in the payload that would not come back from PostgreSQL as it was sent. An
 * explicit stack, not recursion: a payload may be nested thousands deep.
 */
function findUnstorable(root: Record<string, unknown>): { field: string; message: string } | undefined {
  const stack: { value: unknown; path: PropertyKey[]; dataDepth: number | undefined }[] = [{ value: root, path: [], dataDepth: undefined }];
  while (stack.length > 0) {
    const { value, path, dataDepth } = stack.pop()!;
    const field = () => pathOf(path);
    if (dataDepth !== undefined ? dataDepth > MAX_DATA_DEPTH : path.length > MAX_OTHER_DEPTH) {
      return { field: field(), message: `nested deeper than ${dataDepth !== undefined ? MAX_DATA_DEPTH : MAX_OTHER_DEPTH} levels` };
    }
    if (typeof value === 'string') {
      const problem = charProblem(value);
      if (problem) return { field: field(), message: `${quote(value)} ${problem}` };
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    const entries: [PropertyKey, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
    // Reversed onto the stack, so the walk (and the problem it reports first) follows document order.
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i]!;
      const childPath = [...path, key];
      if (typeof key === 'string') {
        if (key === '__proto__') return { field: pathOf(childPath), message: 'key not allowed' };
        const problem = charProblem(key);
        if (problem) return { field: pathOf(childPath), message: `key ${quote(key)} ${problem}` };
      }
      const startsData = (path.length === 0 && key === 'data') || (path.length === 1 && path[0] === 'contact' && key === 'attributes');
      stack.push({ value: child, path: childPath, dataDepth: startsData ? 0 : dataDepth === undefined ? undefined : dataDepth + 1 });
    }
  }
  return undefined;
}

/**
 * What a redelivery of an event id must repeat to be the same event: `occurredAt` as the producer
 * gave it (null when left out, so two deliveries that both left it out are the same event).
 */
export interface EventBody {
  type: string;
  occurredAt: string | null;
  contact: unknown;
  data: unknown;
  /** Only for events that name a touch; absent, it is left out of the hash (older hashes stay valid). */
  touch?: unknown;
}

export function eventBody(e: IncomingEvent): EventBody {
  const occurredAt = e.occurredAtDefaulted ? null : new Date(Date.parse(e.occurredAt)).toISOString();
  if ('touch' in e) return { type: e.type, occurredAt, contact: undefined, data: e.data, touch: e.touch };
  return { type: e.type, occurredAt, contact: e.contact, data: e.data };
}

/** sha256 of the body as canonical JSON (keys sorted): the same body always hashes the same. */
export function eventBodyHash(b: EventBody): string {
  return createHash('sha256').update(canonicalJson(b)).digest('hex');
}

const hashes = new WeakMap<IncomingEvent, string>();

/** The body hash of a parsed event, computed once per event object (checked, then stored). */
export function eventHashOf(e: IncomingEvent): string {
  let h = hashes.get(e);
  if (h === undefined) hashes.set(e, (h = eventBodyHash(eventBody(e))));
  return h;
}

/**
 * A resolved event (src/sequences/event-subject.ts) keeps the body hash of the event as it was
 * received, so a redelivery of that event is recognised by its hash.
 */
export function keepHashOf<T extends NurtureEvent>(resolved: T, received: IncomingEvent): T {
  hashes.set(resolved, eventHashOf(received));
  return resolved;
}

/** JSON with object keys sorted and undefined left out. Parsed events are at most a dozen levels deep. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : canonicalJson(x))).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const keys = Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** Most differences named in one conflict message; the rest are counted. */
const MAX_DIFFERENCES = 5;

/**
 * Where a redelivered body differs from the stored one, leaf by leaf, in words:
 * `contact.email: "a@x.com" was stored, "b@x.com" redelivered`.
 */
export function eventDifferences(stored: EventBody, redelivered: EventBody): { fields: string[]; text: string[] } {
  const found: { field: string; a: unknown; b: unknown }[] = [];
  const walk = (a: unknown, b: unknown, path: string): void => {
    if (canonicalJson(a) === canonicalJson(b)) return;
    const objects = typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && Array.isArray(a) === Array.isArray(b);
    if (!objects) {
      found.push({ field: path, a, b });
      return;
    }
    const keys = Array.isArray(a)
      ? Array.from({ length: Math.max(a.length, (b as unknown[]).length) }, (_, i) => i)
      : [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) {
      const child = typeof k === 'number' ? `${path}[${k}]` : path ? `${path}.${k}` : k;
      walk((a as Record<string | number, unknown>)[k], (b as Record<string | number, unknown>)[k], child);
    }
  };
  for (const key of ['type', 'occurredAt', 'contact', 'data', 'touch'] as const) walk(stored[key], redelivered[key], key);
  const shown = (v: unknown, field: string) => {
    if (v === undefined || (v === null && field === 'occurredAt')) return field === 'occurredAt' ? 'none (defaulted)' : 'nothing';
    if (typeof v === 'string') return quote(v);
    const json = canonicalJson(v);
    return json.length > 80 ? `${json.slice(0, 80)}…` : json;
  };
  const text = found.slice(0, MAX_DIFFERENCES).map((d) => `${d.field}: ${shown(d.a, d.field)} was stored, ${shown(d.b, d.field)} redelivered`);
  if (found.length > MAX_DIFFERENCES) text.push(`and ${found.length - MAX_DIFFERENCES} more`);
  return { fields: found.map((d) => d.field), text };
}

/** Events that say something about a touch carry its id so engagement can be tied to a step. */
export function touchRefOf(e: NurtureEvent): string | undefined {
  if (e.subject?.by === 'touch') return e.subject.touchId;
  const t = e.data['touchId'] ?? e.data['messageId'];
  return typeof t === 'string' ? t.replace(/^<|>$/g, '') : undefined;
}
