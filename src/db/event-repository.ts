import type { Kysely } from 'kysely';
import type { HistoryEntry } from '../sequences/conditions.js';
import type { NurtureEvent } from '../sequences/event.js';
import type { Database } from './schema.js';

/** Stores an event once; false when its id was seen before (the caller rolls back and skips it). */
export async function insertEvent(db: Kysely<Database>, e: NurtureEvent, contactId: string, touchId: string | null): Promise<boolean> {
  const r = await db
    .insertInto('events')
    .values({ id: e.id, contact_id: contactId, type: e.type, occurred_at: e.occurredAt, data: JSON.stringify(e.data), touch_id: touchId })
    .onConflict((oc) => oc.column('id').doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}

/** The bulk form: returns the ids that were new (the others were applied before). */
export async function insertEvents(db: Kysely<Database>, rows: { event: NurtureEvent; contactId: string; touchId: string | null }[]): Promise<Set<string>> {
  const inserted = await db
    .insertInto('events')
    .values(rows.map(({ event: e, contactId, touchId }) => ({ id: e.id, contact_id: contactId, type: e.type, occurred_at: e.occurredAt, data: JSON.stringify(e.data), touch_id: touchId })))
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .execute();
  return new Set(inserted.map((r) => r.id));
}

const MAX_PAYLOAD_KEPT = 4096;

export async function recordFailedEvent(
  db: Kysely<Database>,
  f: { eventId: string | undefined; jobId: string | undefined; field: string; reason: string; payload: unknown },
): Promise<void> {
  let text: string;
  try {
    text = typeof f.payload === 'string' ? f.payload : JSON.stringify(f.payload);
  } catch {
    text = String(f.payload);
  }
  await db
    .insertInto('failed_events')
    .values({
      event_id: f.eventId?.slice(0, 200) ?? null,
      job_id: f.jobId ?? null,
      field: f.field,
      reason: f.reason,
      payload: (text ?? '').slice(0, MAX_PAYLOAD_KEPT),
    })
    .execute();
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
    .where('events.id', '=', id)
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
