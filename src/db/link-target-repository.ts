import type { Kysely } from 'kysely';
import type { LinkSubject } from '../security/message-links.js';
import type { ContactRow } from './contact-repository.js';
import { lockContact } from './contact-repository.js';
import type { Database } from './schema.js';

/**
 * The contact a link is about: its touch's contact, or the contact the link names when the touch
 * is gone (its month dropped by NURTURE_TOUCHES_RETENTION) or the link is about a contact alone.
 * undefined: nobody (the contact was erased, or an old link's touch is gone).
 */
async function linkedContactId(db: Kysely<Database>, subject: LinkSubject): Promise<string | undefined> {
  if ('touchId' in subject) {
    const touch = await db.selectFrom('touches').select('contact_id').where('id', '=', subject.touchId).executeTakeFirst();
    if (touch) return touch.contact_id;
  }
  return subject.contactId;
}

/** The contact a signed link is about, locked like an event of theirs would lock it. */
export async function lockLinkedContact(db: Kysely<Database>, subject: LinkSubject): Promise<ContactRow | undefined> {
  const contactId = await linkedContactId(db, subject);
  return contactId === undefined ? undefined : lockContact(db, contactId);
}

/** The same without a lock, for pages that only show. */
export async function findLinkedContact(db: Kysely<Database>, subject: LinkSubject): Promise<ContactRow | undefined> {
  const contactId = await linkedContactId(db, subject);
  return contactId === undefined ? undefined : db.selectFrom('contacts').selectAll().where('id', '=', contactId).executeTakeFirst();
}
