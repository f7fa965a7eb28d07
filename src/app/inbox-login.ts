import type { DateTime } from 'luxon';
import type { AppContext } from './context.js';
import type { NewSession } from './staff-sessions.js';
import { createStaffSession } from './staff-sessions.js';
import { verifyStaffLogin } from './verify-staff-login.js';

/**
 * Logs a staff user into the inbox: the password checked like every staff login (argon2, an
 * enabled account, a user still in the team directory), then a session opened. The inbox needs a
 * directory: without one nobody logs in. Undefined for any failure, without saying which part
 * was wrong.
 */
export async function inboxLogin(ctx: AppContext, email: string, password: string, now: DateTime, ttlMs: number): Promise<NewSession | undefined> {
  if (!ctx.staff) return undefined;
  const login = await verifyStaffLogin(ctx, email, password);
  if (!login?.user) return undefined;
  return createStaffSession(ctx, login.account.email, now, ttlMs);
}
