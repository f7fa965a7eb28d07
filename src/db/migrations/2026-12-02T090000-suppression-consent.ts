import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * The two records consent law asks for. `suppressions`: addresses that must never be mailed
 * (unsubscribed, hard-bounced, complained, erased), keyed by a hash of the address so an erased
 * contact's entry still matches a new contact with the same address. `consent_records`: every
 * change of consent, appended, with what the person agreed to and where.
 * Frozen like every migration: imports nothing from the app.
 */

const REASONS = ['unsubscribed', 'hard_bounce', 'complaint', 'erased', 'manual'];
const KINDS = ['opt_in', 'confirmation_sent', 'confirmed', 'expired', 'unsubscribed', 'resubscribed', 'topics_changed', 'erased'];

function inList(values: readonly string[]) {
  return sql.join(values.map((v) => sql.lit(v)));
}

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('suppressions')
    // sha256 of the lower-cased address, hex.
    .addColumn('address_hash', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    // Null once the contact is erased: the hash alone keeps the address from being mailed.
    .addColumn('email', 'text')
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('detail', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('suppressions_pkey', ['address_hash', 'reason'])
    .addCheckConstraint('suppressions_reason_check', sql`reason in (${inList(REASONS)})`)
    .execute();

  await db.schema
    .createTable('consent_records')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    // Set null when the contact row goes; the hash still ties the history to the address.
    .addColumn('contact_id', 'uuid', (c) => c.references('contacts.id').onDelete('set null'))
    .addColumn('address_hash', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    // Where it happened: a form id, `api`, `one-click`, `preferences`, `import`, `cli`, a provider.
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('form_id', 'text')
    .addColumn('form_version', 'text')
    .addColumn('ip', 'text')
    .addColumn('user_agent', 'text')
    // The wording the person agreed to, and its sha256 (the text may be long; the hash is what is compared).
    .addColumn('wording', 'text')
    .addColumn('wording_hash', 'text')
    .addColumn('event_id', 'text')
    .addColumn('detail', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addCheckConstraint('consent_records_kind_check', sql`kind in (${inList(KINDS)})`)
    .execute();
  await db.schema.createIndex('consent_records_address_hash_at_idx').on('consent_records').columns(['address_hash', 'at', 'id']).execute();
  await db.schema.createIndex('consent_records_contact_id_idx').on('consent_records').column('contact_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('consent_records').execute();
  await db.schema.dropTable('suppressions').execute();
}
