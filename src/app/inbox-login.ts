import argon2 from 'argon2';
import type { DateTime } from 'luxon';
import { loginPasswordHash } from '../db/staff-session-repository.js';
import { findUser } from '../staff/directory.js';
import type { AppContext } from './context.js';
import type { NewSession } from './staff-sessions.js';
import { createStaffSession } from './staff-sessions.js';

/** A valid argon2id hash of a random password: unknown emails cost the same time as known ones. */
let decoy: Promise<string> | undefined;
const decoyHash = () => (decoy ??= argon2.hash(`decoy-${Math.random()}`, { type: argon2.argon2id }));

/**
 * Checks an email and password against staff_accounts (argon2) and opens a session. The user must
 * also be in the team directory: an account whose user was removed from team.yaml logs in no more.
 * Undefined for any failure, without saying which part was wrong.
 */
export async function inboxLogin(ctx: AppContext, emailGiven: string, password: string, now: DateTime, ttlMs: number): Promise<NewSession | undefined> {
  const email = emailGiven.trim().toLowerCase();
  const stored = ctx.staff && findUser(ctx.staff, email) ? await loginPasswordHash(ctx.deps.db, email) : undefined;
  let ok = false;
  try {
    ok = await argon2.verify(stored ?? (await decoyHash()), password);
  } catch (err) {
    // A stored value that is not an argon2 hash: the operator should hear of it; the person just cannot log in.
    ctx.log.error({ err: (err as Error).message, email }, 'stored password hash cannot be read');
  }
  if (!ok || stored === undefined) return undefined;
  return createStaffSession(ctx, email, now, ttlMs);
}
