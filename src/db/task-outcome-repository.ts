import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/**
 * The writes a task outcome makes besides marking the task done and its activity row: a call's
 * attempt times, the contact's bad address or phone, the mail pieces a returned address stops.
 * Each is safe to run twice: times are set once (the first stays), cancellations touch open tasks only.
 */

/** The first attempt and the first conversation of a call; later ones leave them as they were. */
export async function markCallProgress(db: Kysely<Database>, taskId: number, p: { attempt: boolean; connected: boolean }, at: Date): Promise<void> {
  if (!p.attempt && !p.connected) return;
  await db
    .updateTable('tasks')
    .set({
      ...(p.attempt ? { first_attempt_at: sql<Date>`coalesce(first_attempt_at, ${at})` } : {}),
      ...(p.connected ? { first_connected_at: sql<Date>`coalesce(first_connected_at, ${at})` } : {}),
    })
    .where('id', '=', taskId)
    .execute();
}

/** Flags the contact's postal address (a returned piece) or phone (a wrong number); the first time stays. */
export async function markContactReach(db: Kysely<Database>, contactId: string, p: { addressBad: boolean; phoneBad: boolean }, at: Date): Promise<void> {
  if (!p.addressBad && !p.phoneBad) return;
  await db
    .updateTable('contacts')
    .set({
      ...(p.addressBad ? { address_bad_at: sql<Date>`coalesce(address_bad_at, ${at})` } : {}),
      ...(p.phoneBad ? { phone_bad_at: sql<Date>`coalesce(phone_bad_at, ${at})` } : {}),
    })
    .where('id', '=', contactId)
    .execute();
}

/** Cancels the contact's open postcards and letters (any sequence, or none); returns their ids. */
export async function cancelOpenMailTasks(db: Kysely<Database>, contactId: string, reason: string, at: Date): Promise<number[]> {
  const rows = await db
    .updateTable('tasks')
    .set({ status: 'cancelled', outcome: `cancelled: ${reason}`, completed_at: at })
    .where('contact_id', '=', contactId)
    .where('status', '=', 'open')
    .where('kind', 'in', ['postcard', 'letter'])
    .returning('id')
    .execute();
  return rows.map((r) => r.id).sort((a, b) => a - b);
}

/** Open tasks of the contact's sequences, by id (what ending nurture will cancel). */
export async function openNurtureTaskIds(db: Kysely<Database>, contactId: string): Promise<number[]> {
  const rows = await db
    .selectFrom('tasks')
    .select('id')
    .where('contact_id', '=', contactId)
    .where('status', '=', 'open')
    .where('enrollment_id', 'is not', null)
    .orderBy('id')
    .execute();
  return rows.map((r) => r.id);
}

/** Where a sequence's task came from: its touch's step and sequence (null for a lead call). */
export async function taskOrigin(db: Kysely<Database>, touchId: string | null): Promise<{ stepId: string; sequenceId: string | null } | undefined> {
  if (touchId === null) return undefined;
  const t = await db.selectFrom('touches').select(['step_id', 'sequence_id']).where('id', '=', touchId).executeTakeFirst();
  return t ? { stepId: t.step_id, sequenceId: t.sequence_id } : undefined;
}

/** The contact's tasks made after `afterId` (by the events a completion applied), oldest first. */
export async function tasksAfter(db: Kysely<Database>, contactId: string, afterId: number): Promise<{ id: number; kind: string; enrollment_id: string | null }[]> {
  return db
    .selectFrom('tasks')
    .select(['id', 'kind', 'enrollment_id'])
    .where('contact_id', '=', contactId)
    .where('id', '>', afterId)
    .orderBy('id')
    .execute();
}

/** The contact's newest task id (0 for none). */
export async function lastTaskIdOf(db: Kysely<Database>, contactId: string): Promise<number> {
  const r = await db.selectFrom('tasks').select(sql<number>`coalesce(max(id), 0)::int`.as('max')).where('contact_id', '=', contactId).executeTakeFirstOrThrow();
  return Number(r.max);
}
