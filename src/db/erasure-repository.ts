import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import { addressHash } from './suppression-repository.js';

/**
 * Removing a person's data (a data subject's erasure request) while keeping the rows the figures
 * count (opt-ins, leads, emails sent, stage changes): every field that says who they are or what
 * they wrote is cleared, the row stays. Run inside the erase transaction, with the contact locked.
 */

/** What an erase clears, counted before it is done. */
export interface ErasureCounts {
  events: number;
  touches: number;
  tasks: number;
  enrollments: number;
  consentRecords: number;
  failedEvents: number;
}

/** The address the contact row keeps once erased: no one's, and never the same twice. */
export function erasedAddress(contactId: string): string {
  return `erased-${contactId}@erased.invalid`;
}

/** `payload ILIKE '%address%'`, with the address's own `%` `_` `\` taken literally. */
function mentions(email: string): string {
  return `%${email.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export async function erasureCounts(db: Kysely<Database>, contactId: string, email: string): Promise<ErasureCounts> {
  const count = async (q: Promise<{ n: string | number | bigint } | undefined>) => Number((await q)?.n ?? 0);
  return {
    events: await count(db.selectFrom('events').select((eb) => eb.fn.countAll().as('n')).where('contact_id', '=', contactId).executeTakeFirst()),
    touches: await count(db.selectFrom('touches').select((eb) => eb.fn.countAll().as('n')).where('contact_id', '=', contactId).executeTakeFirst()),
    tasks: await count(db.selectFrom('tasks').select((eb) => eb.fn.countAll().as('n')).where('contact_id', '=', contactId).executeTakeFirst()),
    enrollments: await count(db.selectFrom('enrollments').select((eb) => eb.fn.countAll().as('n')).where('contact_id', '=', contactId).executeTakeFirst()),
    consentRecords: await count(
      db
        .selectFrom('consent_records')
        .select((eb) => eb.fn.countAll().as('n'))
        .where((eb) => eb.or([eb('contact_id', '=', contactId), eb('address_hash', '=', addressHash(email))]))
        .executeTakeFirst(),
    ),
    failedEvents: await count(db.selectFrom('failed_events').select((eb) => eb.fn.countAll().as('n')).where('payload', 'ilike', mentions(email)).executeTakeFirst()),
  };
}

/**
 * Clears the person's data: the contact's name, phone, zone, address, attributes and tags (its
 * address becomes `erasedAddress`), event bodies, rendered subjects and any error text naming the
 * address, task contents, the IP and user agent of consent records, and rejected events that
 * name the address, and double opt-ins waiting for a click (expired). The contact is marked
 * unsubscribed, so nothing reaches it again. Active enrollments end (reason `erased`), unsent
 * emails and open tasks are cancelled. Event ids, body hashes (a producer's redelivery of an old event is still recognised
 * and not applied again), stages and dates stay, so the figures do not change.
 */
export async function eraseContactData(db: Kysely<Database>, contactId: string, email: string, at: Date): Promise<void> {
  const literal = email.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  await db
    .updateTable('contacts')
    .set({
      email: erasedAddress(contactId),
      first_name: null,
      last_name: null,
      phone: null,
      timezone: null,
      address: null,
      attributes: JSON.stringify({}),
      tags: JSON.stringify([]),
      // Never reached again by anything: a click on an old email, an event by contact id or touch.
      unsubscribed_at: sql`coalesce(unsubscribed_at, ${at})`,
      updated_at: sql`now()`,
    })
    .where('id', '=', contactId)
    .execute();
  // A double opt-in waiting for its click holds the person as the form gave them: it expires, emptied.
  await db
    .updateTable('pending_opt_ins')
    .set({
      status: sql`case when status = 'pending' then 'expired' else status end`,
      expired_at: sql`coalesce(expired_at, ${at})`,
      contact: JSON.stringify({}),
      data: JSON.stringify({}),
      ip: null,
      user_agent: null,
    })
    .where('contact_id', '=', contactId)
    .execute();
  await db.updateTable('events').set({ data: JSON.stringify({}), contact: null }).where('contact_id', '=', contactId).execute();
  await db
    .updateTable('enrollments')
    .set({ status: 'exited', exit_reason: 'erased', ended_at: at, next_wake_at: null, held_at: null, held_wake_at: null, wake_version: sql`wake_version + 1`, updated_at: sql`now()` })
    .where('contact_id', '=', contactId)
    .where('status', '=', 'active')
    .execute();
  await db
    .updateTable('touches')
    .set({ status: 'cancelled', error: 'erased' })
    .where('contact_id', '=', contactId)
    .where('status', 'in', ['pending', 'held'])
    .execute();
  await db
    .updateTable('touches')
    .set({ subject: null, error: sql`regexp_replace(error, ${literal}, '[erased]', 'gi')` })
    .where('contact_id', '=', contactId)
    .execute();
  await db
    .updateTable('tasks')
    .set({ status: 'cancelled', outcome: 'cancelled: erased', completed_at: at })
    .where('contact_id', '=', contactId)
    .where('status', '=', 'open')
    .execute();
  await db
    .updateTable('tasks')
    .set({ title: sql`kind || ' (erased contact)'`, note: null, content: null, address: null, phone: null, history: JSON.stringify([]) })
    .where('contact_id', '=', contactId)
    .execute();
  await db
    .updateTable('consent_records')
    .set({ ip: null, user_agent: null })
    .where((eb) => eb.or([eb('contact_id', '=', contactId), eb('address_hash', '=', addressHash(email))]))
    .execute();
  await db.updateTable('failed_events').set({ payload: '[erased]', reason: '[erased]' }).where('payload', 'ilike', mentions(email)).execute();
}
