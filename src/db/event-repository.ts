import type { Kysely } from 'kysely';
import type { HistoryEntry } from '../sequences/conditions.js';
import type { EventBody, NurtureEvent } from '../sequences/event.js';
import { escapeUnstorable, eventHashOf } from '../sequences/event.js';
import type { Database } from './schema.js';

function eventRow(e: NurtureEvent, contactId: string, touchId: string | null) {
  return {
    id: e.id,
    contact_id: contactId,
    type: e.type,
    occurred_at: e.occurredAt,
    occurred_at_defaulted: e.occurredAtDefaulted === true,
    data: JSON.stringify(e.data),
    contact: JSON.stringify(e.contact),
    body_hash: eventHashOf(e),
    touch_id: touchId,
  };
}

/**
 * Stores an event once; false when its id was seen before (the caller rolls back and skips it).
 * No ON CONFLICT here: `events` is partitioned and holds no unique key on id alone; its trigger
 * claims the id in `event_ids` and skips the row when it was taken (migration 2026-12-03T140000).
 */
export async function insertEvent(db: Kysely<Database>, e: NurtureEvent, contactId: string, touchId: string | null): Promise<boolean> {
  const r = await db
    .insertInto('events')
    .values(eventRow(e, contactId, touchId))
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}

/** The bulk form: returns the ids that were new (the others were applied before). */
export async function insertEvents(db: Kysely<Database>, rows: { event: NurtureEvent; contactId: string; touchId: string | null }[]): Promise<Set<string>> {
  const inserted = await db
    .insertInto('events')
    .values(rows.map(({ event, contactId, touchId }) => eventRow(event, contactId, touchId)))
    .returning('id')
    .execute();
  return new Set(inserted.map((r) => r.id));
}

/** The stored body of each of these event ids that was applied before (hash null: stored before hashes were). */
export async function storedEventBodies(db: Kysely<Database>, ids: readonly string[]): Promise<Map<string, { hash: string | null; body: EventBody }>> {
  const out = new Map<string, { hash: string | null; body: EventBody }>();
  if (ids.length === 0) return out;
  // Through event_ids: its received_at names the one partition to look in.
  const rows = await db
    .selectFrom('event_ids')
    .innerJoin('events', (j) => j.onRef('events.id', '=', 'event_ids.id').onRef('events.received_at', '=', 'event_ids.received_at'))
    .select(['events.id', 'events.type', 'events.occurred_at', 'events.occurred_at_defaulted', 'events.contact', 'events.data', 'events.body_hash'])
    .where('event_ids.id', 'in', ids)
    .execute();
  for (const r of rows) {
    out.set(r.id, {
      hash: r.body_hash,
      body: { type: r.type, occurredAt: r.occurred_at_defaulted ? null : r.occurred_at.toISOString(), contact: r.contact ?? undefined, data: r.data },
    });
  }
  return out;
}

/** What a rejection keeps of the payload: enough to see what came, never so much it cannot be stored. */
const MAX_PAYLOAD_KEPT = 4096;
const MAX_REASON_KEPT = 2000;
/** The kept copy of a payload goes this deep and visits this many values at most. */
const KEPT_DEPTH = 16;
const KEPT_VALUES = 2000;

/**
 * Records a rejected event. Whatever the payload (text with NUL bytes or lone surrogates, a
 * structure thousands deep, megabytes), this stores a bounded, escaped rendering of it, so
 * recording a rejection cannot fail for the reason the event did.
 */
export async function recordFailedEvent(
  db: Kysely<Database>,
  f: { eventId: string | undefined; jobId: string | undefined; field: string; reason: string; payload: unknown },
): Promise<void> {
  await db
    .insertInto('failed_events')
    .values({
      event_id: f.eventId === undefined ? null : storableText(f.eventId, 200),
      job_id: f.jobId === undefined ? null : storableText(f.jobId, 200),
      field: storableText(f.field, 500),
      reason: storableText(f.reason, MAX_REASON_KEPT),
      payload: storablePayload(f.payload),
    })
    .execute();
}

/** Text PostgreSQL stores as is: NUL and lone surrogates written as JSON escapes, cut to `max` without splitting a pair. */
export function storableText(s: string, max: number): string {
  let out = escapeUnstorable(s);
  if (out.length > max) out = out.slice(0, max);
  if (/[\ud800-\udbff]$/.test(out)) out = out.slice(0, -1);
  return out;
}

/** A payload as text for failed_events: JSON of a bounded copy (so stringify cannot overflow the stack), escaped, cut. */
export function storablePayload(payload: unknown): string {
  let text: string;
  try {
    text = typeof payload === 'string' ? payload : (JSON.stringify(boundedCopy(payload)) ?? String(payload));
  } catch (err) {
    text = `(payload could not be rendered: ${(err as Error).message})`;
  }
  return storableText(text, MAX_PAYLOAD_KEPT);
}

/** A copy at most KEPT_DEPTH deep and KEPT_VALUES values big, with an explicit stack (no recursion). */
function boundedCopy(value: unknown): unknown {
  const root: { v: unknown } = { v: undefined };
  const stack: { src: unknown; put: (v: unknown) => void; depth: number }[] = [{ src: value, put: (v) => (root.v = v), depth: 0 }];
  let visited = 0;
  while (stack.length > 0) {
    const { src, put, depth } = stack.pop()!;
    visited++;
    if (typeof src === 'bigint') put(String(src));
    else if (typeof src !== 'object' || src === null) put(src);
    else if (depth >= KEPT_DEPTH) put(Array.isArray(src) ? '[…]' : '{…}');
    else if (Array.isArray(src)) {
      const out: unknown[] = [];
      put(out);
      for (let i = 0; i < src.length; i++) {
        if (visited + stack.length >= KEPT_VALUES) {
          out[i] = '…';
          break;
        }
        stack.push({ src: src[i], put: (v) => (out[i] = v), depth: depth + 1 });
      }
    } else {
      const out: Record<string, unknown> = {};
      put(out);
      for (const [k, v] of Object.entries(src)) {
        // defineProperty: a "__proto__" key stays a key instead of replacing the prototype.
        Object.defineProperty(out, k, { value: '…', enumerable: true, writable: true, configurable: true });
        if (visited + stack.length >= KEPT_VALUES) break;
        stack.push({ src: v, put: (x) => Object.defineProperty(out, k, { value: x }), depth: depth + 1 });
      }
    }
  }
  return root.v;
}

export async function listFailedEvents(db: Kysely<Database>, limit: number) {
  return db.selectFrom('failed_events').selectAll().orderBy('id', 'desc').limit(limit).execute();
}

/** The contact's latest events, newest first, with the step each engagement refers to. */
export async function recentHistory(db: Kysely<Database>, contactId: string, limit = 50): Promise<HistoryEntry[]> {
  const rows = await db
    .selectFrom('events')
    .leftJoin('touches', 'touches.id', 'events.touch_id')
    .select(['events.type', 'events.occurred_at', 'events.data', 'touches.enrollment_id', 'touches.step_id'])
    .where('events.contact_id', '=', contactId)
    .orderBy('events.seq', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    type: r.type,
    at: r.occurred_at.toISOString(),
    data: r.data,
    enrollmentId: r.enrollment_id,
    stepId: r.step_id,
  }));
}

/** The contact's latest events with their ids, newest first. */
export async function contactEvents(db: Kysely<Database>, contactId: string, limit = 20) {
  return db
    .selectFrom('events')
    .select(['id', 'type', 'occurred_at', 'received_at', 'data', 'touch_id'])
    .where('contact_id', '=', contactId)
    .orderBy('seq', 'desc')
    .limit(limit)
    .execute();
}

/** An applied event with its contact's email and the touch it refers to, if any. */
export async function findEvent(db: Kysely<Database>, id: string) {
  return db
    .selectFrom('events')
    .innerJoin('contacts', 'contacts.id', 'events.contact_id')
    .leftJoin('touches', 'touches.id', 'events.touch_id')
    .selectAll('events')
    .select(['contacts.email', 'touches.step_id', 'touches.sequence_id', 'touches.kind as touch_kind'])
    .innerJoin('event_ids', (j) => j.onRef('event_ids.id', '=', 'events.id').onRef('event_ids.received_at', '=', 'events.received_at'))
    .where('event_ids.id', '=', id)
    .executeTakeFirst();
}

/** Every rejection recorded for one event id, oldest first. */
export async function failedEventsById(db: Kysely<Database>, eventId: string) {
  return db.selectFrom('failed_events').selectAll().where('event_id', '=', eventId).orderBy('id').execute();
}

export async function countFailedEvents(db: Kysely<Database>, since?: Date): Promise<number> {
  let q = db.selectFrom('failed_events').select(db.fn.countAll<string>().as('n'));
  if (since) q = q.where('received_at', '>=', since);
  const r = await q.executeTakeFirstOrThrow();
  return Number(r.n);
}
