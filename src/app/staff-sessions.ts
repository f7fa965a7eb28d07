import { createHash, randomBytes } from 'node:crypto';
import type { DateTime } from 'luxon';
import { deleteExpiredSessions, deleteSession, findLiveSession, insertSession } from '../db/staff-session-repository.js';
import type { StoredSession } from '../db/staff-session-repository.js';
import type { AppContext } from './context.js';

/**
 * Inbox sessions: the cookie holds a random token (32 bytes); the table holds its sha256, so a
 * copy of the table opens no session. Each session has its own CSRF token for every form.
 */

export type StaffSession = StoredSession;

export interface NewSession {
  /** Goes in the cookie, nowhere else. */
  token: string;
  csrfToken: string;
  expiresAt: Date;
}

export function sessionTokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export async function createStaffSession(ctx: AppContext, email: string, now: DateTime, ttlMs: number): Promise<NewSession> {
  const token = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(24).toString('base64url');
  const expiresAt = now.plus({ milliseconds: ttlMs }).toJSDate();
  await deleteExpiredSessions(ctx.deps.db, now.toJSDate());
  await insertSession(ctx.deps.db, { tokenHash: sessionTokenHash(token), email, csrfToken, at: now.toJSDate(), expiresAt });
  return { token, csrfToken, expiresAt };
}

/** The session a cookie's token names, if it is still good (and its account not disabled). */
export async function resolveStaffSession(ctx: AppContext, token: string | undefined, now: DateTime): Promise<StaffSession | undefined> {
  // Tokens are 43 characters of base64url: anything else is not worth a query.
  if (token === undefined || !/^[A-Za-z0-9_-]{20,100}$/.test(token)) return undefined;
  return findLiveSession(ctx.deps.db, sessionTokenHash(token), now.toJSDate());
}

export async function endStaffSession(ctx: AppContext, token: string): Promise<void> {
  await deleteSession(ctx.deps.db, sessionTokenHash(token));
}
