import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * Double opt-in. `pending_opt_ins`: a form submission waiting for the person to confirm their
 * address, with what the form gave (applied as an opt_in event only once confirmed), where it
 * came from (IP, user agent) and the wording agreed to; it expires unconfirmed. And one consent
 * record per event and kind, so the record written at the edge (with the form, the IP and the
 * wording) is the one kept when the engine applies the same opt-in.
 * Frozen like every migration: imports nothing from the app.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('pending_opt_ins')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('contact_id', 'uuid', (c) => c.notNull().references('contacts.id').onDelete('cascade'))
    .addColumn('form_id', 'text', (c) => c.notNull())
    .addColumn('form_version', 'text', (c) => c.notNull())
    // The contact as the form gave it: the opt_in event's contact once confirmed.
    .addColumn('contact', 'jsonb', (c) => c.notNull())
    // The event's data (source, form, version).
    .addColumn('data', 'jsonb', (c) => c.notNull())
    .addColumn('ip', 'text')
    .addColumn('user_agent', 'text')
    .addColumn('wording', 'text', (c) => c.notNull())
    .addColumn('wording_hash', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending'))
    // The confirmation email (a touch of no enrollment).
    .addColumn('touch_id', 'uuid', (c) => c.references('touches.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('confirmed_at', 'timestamptz')
    .addColumn('expired_at', 'timestamptz')
    .addCheckConstraint('pending_opt_ins_status_check', sql`status in ('pending', 'confirmed', 'expired')`)
    .execute();
  await db.schema
    .createIndex('pending_opt_ins_due_idx')
    .on('pending_opt_ins')
    .column('expires_at')
    .where(sql.ref('status'), '=', 'pending')
    .execute();
  await db.schema.createIndex('pending_opt_ins_contact_form_idx').on('pending_opt_ins').columns(['contact_id', 'form_id', 'created_at']).execute();
  await db.schema
    .createIndex('consent_records_event_kind_key')
    .unique()
    .on('consent_records')
    .columns(['event_id', 'kind'])
    .where(sql.ref('event_id'), 'is not', null)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('consent_records_event_kind_key').execute();
  await db.schema.dropTable('pending_opt_ins').execute();
}
