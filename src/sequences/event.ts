import { z } from 'zod';
import { EVENT_TYPE, EVENT_TYPE_HINT } from './names.js';
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
  occurredAt: z.iso.datetime({ offset: true, message: 'is not an ISO 8601 instant with Z or an offset (e.g. "2026-11-22T10:00:00Z")' }),
  contact: contactSchema,
  data: z.record(z.string(), z.unknown()).default({}),
});

export type NurtureEvent = z.output<typeof eventSchema>;
export type NurtureEventInput = z.input<typeof eventSchema>;

export type ParsedEvent = { ok: true; event: NurtureEvent } | { ok: false; field: string; reason: string; eventId: string | undefined };

function pathOf(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

/** Accepts a raw job payload (object or JSON text); never throws. */
export function parseEvent(raw: unknown): ParsedEvent {
  let value = raw;
  let size: number;
  try {
    const text = typeof raw === 'string' ? raw : JSON.stringify(raw);
    size = Buffer.byteLength(text ?? '', 'utf8');
    if (typeof raw === 'string') value = JSON.parse(raw);
  } catch {
    return { ok: false, field: '', reason: 'payload is not valid JSON', eventId: undefined };
  }
  const eventId = value && typeof value === 'object' && typeof (value as { id?: unknown }).id === 'string' ? (value as { id: string }).id : undefined;
  if (size > MAX_EVENT_BYTES) {
    return { ok: false, field: '', reason: `event is ${size} bytes; the limit is ${MAX_EVENT_BYTES}`, eventId };
  }
  const parsed = eventSchema.safeParse(value);
  if (parsed.success) return { ok: true, event: parsed.data };
  const issue = parsed.error.issues[0]!;
  const field = pathOf(issue.path);
  const missing = issue.code === 'invalid_type' && issue.message.includes('undefined');
  const reason = missing ? `${field || 'event'} is required` : `${field || 'event'}: ${issue.message}`;
  return { ok: false, field, reason, eventId };
}

/** Events that say something about a touch carry its id so engagement can be tied to a step. */
export function touchRefOf(e: NurtureEvent): string | undefined {
  const t = e.data['touchId'] ?? e.data['messageId'];
  return typeof t === 'string' ? t.replace(/^<|>$/g, '') : undefined;
}
