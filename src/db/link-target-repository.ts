import type { Kysely } from 'kysely';
import type { LinkSubject } from '../security/message-links.js';
import type { ContactRow } from './contact-repository.js';
import { lockContact } from './contact-repository.js';
import type { Database } from './schema.js';

/** The contact a signed link is about (through its touch), locked like an event of theirs would lock it. */
export async function lockLinkedContact(db: Kysely<Database>, subject: LinkSubject): Promise<ContactRow | undefined> {
  const contactId =
    'contactId' in subject
      ? subject.contactId
      : (await db.selectFrom('touches').select('contact_id').where('id', '=', subject.touchId).executeTakeFirst())?.contact_id;
  return contactId === undefined ? undefined : lockContact(db, contactId);
}

/** The same without a lock, for pages that only show. */
export async function findLinkedContact(db: Kysely<Database>, subject: LinkSubject): Promise<ContactRow | undefined> {
  if ('contactId' in subject) return db.selectFrom('contacts').selectAll().where('id', '=', subject.contactId).executeTakeFirst();
  return db
    .selectFrom('touches')
    .innerJoin('contacts', 'contacts.id', 'touches.contact_id')
    .selectAll('contacts')
    .where('touches.id', '=', subject.touchId)
    .executeTakeFirst();
}
