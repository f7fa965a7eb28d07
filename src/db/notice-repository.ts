import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/**
 * The address an email went to, found by its Message-ID (`touch-<id>@domain`, with or without
 * `<>`) or its touch id, for delivery notices that name the message rather than the address.
 */
export async function addressOfMessage(db: Kysely<Database>, ref: string): Promise<string | undefined> {
  const bare = ref.trim().replace(/^<|>$/g, '');
  const isUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(bare);
  const row = await db
    .selectFrom('touches')
    .innerJoin('contacts', 'contacts.id', 'touches.contact_id')
    .select('contacts.email')
    .where((eb) => (isUuid ? eb.or([eb('touches.id', '=', bare), eb('touches.message_id', '=', bare)]) : eb('touches.message_id', '=', bare)))
    .executeTakeFirst();
  return row?.email;
}

/** Whether a contact holds this address (lower-cased, as contacts are keyed). */
export async function hasContact(db: Kysely<Database>, email: string): Promise<boolean> {
  const row = await db.selectFrom('contacts').select('id').where('email', '=', email.trim().toLowerCase()).executeTakeFirst();
  return row !== undefined;
}
