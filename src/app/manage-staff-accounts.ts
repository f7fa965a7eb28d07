import type { DateTime } from 'luxon';
import type { StaffAccount } from '../db/staff-account-repository.js';
import { findStaffAccount, insertStaffAccount, listStaffAccounts, setStaffAccountDisabled, setStaffPasswordHash } from '../db/staff-account-repository.js';
import { ConflictError, InputError, NotFoundError } from '../errors.js';
import { hashPassword, passwordProblem } from '../security/password-hash.js';
import type { StaffUser } from '../staff/directory.js';
import { findUser } from '../staff/directory.js';
import type { AppContext } from './context.js';
import { requireStaffUser } from './staff-task-guard.js';

/**
 * `nurture users add|passwd|list|disable|enable`: login accounts for the staff users of the team
 * directory. The directory says who someone is (name, teams); the account only holds the
 * password's argon2id hash and whether it may log in.
 */

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function checkEmail(email: string): string {
  const e = email.trim().toLowerCase();
  if (!EMAIL.test(e)) throw new InputError(`"${email}" is not an email address`);
  return e;
}

function checkPassword(email: string, password: string): void {
  const problem = passwordProblem(password);
  if (problem) throw new InputError(`${email}: ${problem}`);
}

const NO_ACCOUNT = (email: string) => new NotFoundError(`no staff account for ${email} (add one with: nurture users add ${email})`);

export interface AddStaffAccountResult {
  account: StaffAccount;
  /** The directory's entry for the email; undefined when no directory was given. */
  user: StaffUser | undefined;
  /** Things worth saying that do not stop the command. */
  warnings: string[];
}

/**
 * Creates an account. With a directory, the email must be one of its users (a typo gets a
 * did-you-mean); without one nothing can be checked, and the result says so.
 */
export async function addStaffAccount(ctx: AppContext, input: { email: string; password: string; name?: string | undefined }, now: DateTime): Promise<AddStaffAccountResult> {
  const email = checkEmail(input.email);
  const warnings: string[] = [];
  let user: StaffUser | undefined;
  if (ctx.staff) {
    user = requireStaffUser(ctx.staff, email);
    const name = input.name?.trim();
    if (name && name !== user.name) warnings.push(`${email} is "${user.name}" in ${ctx.staff.file}, not "${name}": the directory's name is the one shown`);
  } else {
    warnings.push(`no team directory was read: ${email} could not be checked against it, and cannot see or claim tasks until it is in team.yaml`);
  }
  checkPassword(email, input.password);
  const hash = await hashPassword(input.password);
  const at = now.toJSDate();
  if (!(await insertStaffAccount(ctx.deps.db, email, hash, at))) {
    throw new ConflictError(`${email} has an account already (change its password with: nurture users passwd ${email})`);
  }
  const account = await findStaffAccount(ctx.deps.db, email);
  if (!account) throw NO_ACCOUNT(email);
  return { account, user, warnings };
}

export interface ChangePasswordResult {
  account: StaffAccount;
  warnings: string[];
}

/** A new password; the account's browser sessions end. A disabled account stays disabled. */
export async function changeStaffPassword(ctx: AppContext, input: { email: string; password: string }, now: DateTime): Promise<ChangePasswordResult> {
  const email = checkEmail(input.email);
  const before = await findStaffAccount(ctx.deps.db, email);
  if (!before) throw NO_ACCOUNT(email);
  checkPassword(email, input.password);
  if (!(await setStaffPasswordHash(ctx.deps.db, email, await hashPassword(input.password), now.toJSDate()))) throw NO_ACCOUNT(email);
  const account = (await findStaffAccount(ctx.deps.db, email))!;
  const warnings = account.disabledAt ? [`${email} is disabled (since ${account.disabledAt.toISOString()}): it cannot log in until enabled with nurture users enable ${email}`] : [];
  return { account, warnings };
}

export interface StaffAccountListing extends StaffAccount {
  /** From the directory, when one was given and has the user. */
  name: string | null;
  teams: readonly string[];
  /** False: the directory (given) no longer has this user: the account cannot log in. */
  inDirectory: boolean | null;
}

export async function staffAccountList(ctx: AppContext): Promise<StaffAccountListing[]> {
  return (await listStaffAccounts(ctx.deps.db)).map((a) => {
    const user = ctx.staff ? findUser(ctx.staff, a.email) : undefined;
    return { ...a, name: user?.name ?? null, teams: user?.teams ?? [], inDirectory: ctx.staff ? user !== undefined : null };
  });
}

export interface DisableResult {
  account: StaffAccount;
  /** False: it was disabled already. */
  changed: boolean;
  sessionsEnded: number;
}

/** No more logins, and the browser sessions it has end now. */
export async function disableStaffAccount(ctx: AppContext, emailText: string, now: DateTime): Promise<DisableResult> {
  const email = checkEmail(emailText);
  const before = await findStaffAccount(ctx.deps.db, email);
  if (!before) throw NO_ACCOUNT(email);
  if (before.disabledAt) return { account: before, changed: false, sessionsEnded: 0 };
  const sessionsEnded = (await setStaffAccountDisabled(ctx.deps.db, email, now.toJSDate(), now.toJSDate())) ?? 0;
  return { account: (await findStaffAccount(ctx.deps.db, email))!, changed: true, sessionsEnded };
}

export async function enableStaffAccount(ctx: AppContext, emailText: string, now: DateTime): Promise<{ account: StaffAccount; changed: boolean }> {
  const email = checkEmail(emailText);
  const before = await findStaffAccount(ctx.deps.db, email);
  if (!before) throw NO_ACCOUNT(email);
  if (!before.disabledAt) return { account: before, changed: false };
  await setStaffAccountDisabled(ctx.deps.db, email, null, now.toJSDate());
  return { account: (await findStaffAccount(ctx.deps.db, email))!, changed: true };
}
