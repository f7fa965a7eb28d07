import type { Kysely } from 'kysely';

/**
 * What a redelivered event is compared with: a hash of its body (type, occurredAt, contact,
 * data) and the contact as the event gave it, so a redelivery with another body is a conflict,
 * named field by field, not a silent duplicate. And whether `occurredAt` was given or stood in
 * for by the time the event was received. Rows from before keep NULL: they compare as equal.
 * Frozen like every migration: imports nothing from the app.
 */

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('events')
    .addColumn('body_hash', 'text')
    .addColumn('contact', 'jsonb')
    .addColumn('occurred_at_defaulted', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('events').dropColumn('body_hash').dropColumn('contact').dropColumn('occurred_at_defaulted').execute();
}
