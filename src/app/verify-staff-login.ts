import type { StaffAccount } from '../db/staff-account-repository.js';
import { verifyPassword } from '../db/staff-account-repository.js';
import { MAX_PASSWORD_LENGTH } from '../security/password-hash.js';
import type { StaffUser } from '../staff/directory.js';
import { findUser } from '../staff/directory.js';
import type { AppContext } from './context.js';

export interface StaffLogin {
  account: StaffAccount;
  /** The directory's entry (name, teams); undefined when the context has no directory. */
  user: StaffUser | undefined;
}

/**
 * A login attempt (the browser inbox's form): the account when the password is right, the
 * account is enabled and, when the context has a team directory, the user is still in it.
 * Undefined otherwise, without saying which: a wrong email costs the same argon2 work as a
 * wrong password.
 */
export async function verifyStaffLogin(ctx: AppContext, email: string, password: string): Promise<StaffLogin | undefined> {
  // argon2 accepts any length; a megabyte "password" is refused before it is hashed.
  if (password.length === 0 || password.length > MAX_PASSWORD_LENGTH || email.length > 320) return undefined;
  const account = await verifyPassword(ctx.deps.db, email, password);
  if (!account) return undefined;
  if (!ctx.staff) return { account, user: undefined };
  const user = findUser(ctx.staff, account.email);
  return user ? { account, user } : undefined;
}
