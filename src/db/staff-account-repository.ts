import type { Kysely, Selectable } from 'kysely';
import { burnVerification, passwordMatches } from '../security/password-hash.js';
import type { Database, StaffAccountsTable } from './schema.js';

/** Login accounts of staff users: the email (lower-cased) and the argon2id hash of the password. */

export type StaffAccountRow = Selectable<StaffAccountsTable>;

/** An account as the rest of Nurture sees it: never the hash. */
export interface StaffAccount {
  email: string;
  createdAt: Date;
  updatedAt: Date;
  disabledAt: Date | null;
}

function account(r: StaffAccountRow): StaffAccount {
  return { email: r.email, createdAt: r.created_at, updatedAt: r.updated_at, disabledAt: r.disabled_at };
}

const key = (email: string) => email.trim().toLowerCase();

export async function findStaffAccount(db: Kysely<Database>, email: string): Promise<StaffAccount | undefined> {
  const r = await db.selectFrom('staff_accounts').selectAll().where('email', '=', key(email)).executeTakeFirst();
  return r ? account(r) : undefined;
}

/** False when an account with this email exists already (it is left as it is). */
export async function insertStaffAccount(db: Kysely<Database>, email: string, passwordHash: string, at: Date): Promise<boolean> {
  const r = await db
    .insertInto('staff_accounts')
    .values({ email: key(email), password_hash: passwordHash, created_at: at, updated_at: at })
    .onConflict((oc) => oc.column('email').doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}

/** Sets a new password hash and ends the account's sessions (a changed password logs out everywhere). False: no such account. */
export async function setStaffPasswordHash(db: Kysely<Database>, email: string, passwordHash: string, at: Date): Promise<boolean> {
  // One transaction: a crash between the two never leaves old sessions alive after a change.
  return db.transaction().execute(async (tx) => {
    const r = await tx.updateTable('staff_accounts').set({ password_hash: passwordHash, updated_at: at }).where('email', '=', key(email)).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) return false;
    await tx.deleteFrom('staff_sessions').where('email', '=', key(email)).execute();
    return true;
  });
}

/** Disables (or enables) the account; disabling ends its sessions. Returns the sessions ended, or undefined: no such account. */
export async function setStaffAccountDisabled(db: Kysely<Database>, email: string, disabledAt: Date | null, at: Date): Promise<number | undefined> {
  return db.transaction().execute(async (tx) => {
    const r = await tx.updateTable('staff_accounts').set({ disabled_at: disabledAt, updated_at: at }).where('email', '=', key(email)).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) return undefined;
    if (disabledAt === null) return 0;
    const d = await tx.deleteFrom('staff_sessions').where('email', '=', key(email)).executeTakeFirst();
    return Number(d.numDeletedRows);
  });
}

export async function listStaffAccounts(db: Kysely<Database>): Promise<StaffAccount[]> {
  return (await db.selectFrom('staff_accounts').selectAll().orderBy('email').execute()).map(account);
}

/**
 * The account when the password is right and the account is not disabled, else undefined. An
 * unknown or disabled email still costs one argon2 verification, so the time taken does not tell
 * which emails have accounts.
 */
export async function verifyPassword(db: Kysely<Database>, email: string, password: string): Promise<StaffAccount | undefined> {
  const r = await db.selectFrom('staff_accounts').selectAll().where('email', '=', key(email)).executeTakeFirst();
  if (!r) {
    await burnVerification(password);
    return undefined;
  }
  const ok = await passwordMatches(r.password_hash, password);
  return ok && r.disabled_at === null ? account(r) : undefined;
}
