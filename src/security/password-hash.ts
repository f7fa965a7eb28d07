import { randomBytes } from 'node:crypto';
import argon2 from 'argon2';

/**
 * Staff passwords, hashed with argon2id (the argon2 package's defaults: 64 MiB, 3 passes,
 * 4 lanes, a random 16-byte salt), stored as the PHC string `$argon2id$v=19$m=...`. The password
 * itself is never stored or logged.
 */

export const MIN_PASSWORD_LENGTH = 12;
/** argon2 takes any length; a bound keeps a pasted file from being hashed. */
export const MAX_PASSWORD_LENGTH = 1024;

export function passwordProblem(password: string): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH) return `the password is ${password.length} characters: at least ${MIN_PASSWORD_LENGTH}, please`;
  if (password.length > MAX_PASSWORD_LENGTH) return `the password is ${password.length} characters: at most ${MAX_PASSWORD_LENGTH}`;
  if (password.trim() === '') return 'the password is only blanks';
  return undefined;
}

export async function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, { type: argon2.argon2id });
}

/**
 * False for a wrong password and for a stored value that is not an argon2 hash. Any other failure
 * (the native module, memory) is thrown: a login that cannot be checked is an error to see, not a
 * wrong password.
 */
export async function passwordMatches(hash: string, password: string): Promise<boolean> {
  if (!/^\$argon2(id|i|d)\$/.test(hash)) return false;
  return argon2.verify(hash, password);
}

let dummy: Promise<string> | undefined;

/**
 * Spends the time of one verification when there is no account to check, so a login for an
 * unknown or disabled email takes about as long as one with a wrong password.
 */
export async function burnVerification(password: string): Promise<void> {
  // A failed hash is not kept: the next login tries again instead of failing until a restart.
  dummy ??= argon2.hash(randomBytes(32), { type: argon2.argon2id }).catch((err: unknown) => {
    dummy = undefined;
    throw err;
  });
  await passwordMatches(await dummy, password);
}
