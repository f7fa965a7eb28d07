import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Browser sessions of staff (the inbox): only a hash of the cookie's token is stored. */

export interface StoredSession {
  email: string;
  csrfToken: string;
  expiresAt: Date;
}

export async function insertSession(db: Kysely<Database>, s: { tokenHash: string; email: string; csrfToken: string; at: Date; expiresAt: Date }): Promise<void> {
  await db
    .insertInto('staff_sessions')
    .values({ token_hash: s.tokenHash, email: s.email, csrf_token: s.csrfToken, created_at: s.at, last_seen_at: s.at, expires_at: s.expiresAt })
    .execute();
}

/** A session still good at `now`, of an account that is not disabled. */
export async function findLiveSession(db: Kysely<Database>, tokenHash: string, now: Date): Promise<StoredSession | undefined> {
  const r = await db
    .selectFrom('staff_sessions')
    .innerJoin('staff_accounts', 'staff_accounts.email', 'staff_sessions.email')
    .select(['staff_sessions.email', 'staff_sessions.csrf_token', 'staff_sessions.expires_at'])
    .where('staff_sessions.token_hash', '=', tokenHash)
    .where('staff_sessions.expires_at', '>', now)
    .where('staff_accounts.disabled_at', 'is', null)
    .executeTakeFirst();
  return r ? { email: r.email, csrfToken: r.csrf_token, expiresAt: r.expires_at } : undefined;
}

export async function deleteSession(db: Kysely<Database>, tokenHash: string): Promise<void> {
  await db.deleteFrom('staff_sessions').where('token_hash', '=', tokenHash).execute();
}

/** Sessions past their expiry: removed at each login, so the table holds only live ones and a few stale. */
export async function deleteExpiredSessions(db: Kysely<Database>, now: Date): Promise<number> {
  const r = await db.deleteFrom('staff_sessions').where('expires_at', '<=', now).executeTakeFirst();
  return Number(r.numDeletedRows);
}
