import type { Kysely, Selectable } from 'kysely';
import type { Database, PendingOptInsTable } from './schema.js';

export type PendingOptInRow = Selectable<PendingOptInsTable>;

export interface NewPendingOptIn {
  contactId: string;
  formId: string;
  formVersion: string;
  contact: Record<string, unknown>;
  data: Record<string, unknown>;
  ip: string | undefined;
  userAgent: string | undefined;
  wording: string;
  wordingHash: string;
  createdAt: Date;
  expiresAt: Date;
}

export async function insertPendingOptIn(db: Kysely<Database>, p: NewPendingOptIn): Promise<string> {
  const r = await db
    .insertInto('pending_opt_ins')
    .values({
      contact_id: p.contactId,
      form_id: p.formId,
      form_version: p.formVersion,
      contact: JSON.stringify(p.contact),
      data: JSON.stringify(p.data),
      ip: p.ip ?? null,
      user_agent: p.userAgent ?? null,
      wording: p.wording,
      wording_hash: p.wordingHash,
      created_at: p.createdAt,
      expires_at: p.expiresAt,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return r.id;
}

export async function setPendingTouch(db: Kysely<Database>, id: string, touchId: string): Promise<void> {
  await db.updateTable('pending_opt_ins').set({ touch_id: touchId }).where('id', '=', id).execute();
}

/** The latest still-pending opt-in of a contact on a form, if one was made after `since`. */
export async function recentPendingOptIn(db: Kysely<Database>, contactId: string, formId: string, since: Date): Promise<PendingOptInRow | undefined> {
  return db
    .selectFrom('pending_opt_ins')
    .selectAll()
    .where('contact_id', '=', contactId)
    .where('form_id', '=', formId)
    .where('status', '=', 'pending')
    .where('created_at', '>', since)
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
}

export async function lockPendingOptIn(db: Kysely<Database>, id: string): Promise<PendingOptInRow | undefined> {
  return db.selectFrom('pending_opt_ins').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

export async function pendingOptInOfTouch(db: Kysely<Database>, touchId: string): Promise<PendingOptInRow | undefined> {
  return db.selectFrom('pending_opt_ins').selectAll().where('touch_id', '=', touchId).executeTakeFirst();
}

export async function markConfirmed(db: Kysely<Database>, id: string, at: Date): Promise<void> {
  await db.updateTable('pending_opt_ins').set({ status: 'confirmed', confirmed_at: at }).where('id', '=', id).execute();
}

/**
 * Expires every pending opt-in due by `now` (at most `limit`), in one statement: two processes
 * doing it at once each get different rows, so each expiry is recorded once.
 */
export async function expireDuePendingOptIns(db: Kysely<Database>, now: Date, limit: number): Promise<PendingOptInRow[]> {
  return db
    .updateTable('pending_opt_ins')
    .set({ status: 'expired', expired_at: now })
    .where('id', 'in', (q) =>
      q.selectFrom('pending_opt_ins').select('id').where('status', '=', 'pending').where('expires_at', '<=', now).orderBy('expires_at').limit(limit).forUpdate().skipLocked(),
    )
    .returningAll()
    .execute();
}

export async function expireOne(db: Kysely<Database>, id: string, now: Date): Promise<void> {
  await db.updateTable('pending_opt_ins').set({ status: 'expired', expired_at: now }).where('id', '=', id).where('status', '=', 'pending').execute();
}

export async function pendingOptInsOfContact(db: Kysely<Database>, contactId: string): Promise<PendingOptInRow[]> {
  return db.selectFrom('pending_opt_ins').selectAll().where('contact_id', '=', contactId).orderBy('created_at').execute();
}
