import type { Kysely } from 'kysely';
import type { ContactRow } from '../db/contact-repository.js';
import { findContactByEmail, lockContact } from '../db/contact-repository.js';
import type { Database } from '../db/schema.js';
import { NotFoundError } from '../errors.js';

/**
 * The contact named by `email`, locked until the transaction ends. Taken before any of its
 * enrollments, in the engine's own order, so a command by hand never deadlocks an event.
 */
export async function lockContactByEmail(tx: Kysely<Database>, email: string): Promise<ContactRow> {
  const seen = await findContactByEmail(tx, email);
  const row = seen && (await lockContact(tx, seen.id));
  if (!row) throw new NotFoundError(`no contact with email ${email.trim()} (emails are matched case-insensitively; add contacts with nurture emit or nurture contacts import)`);
  return row;
}
