import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * Per-contact opt-outs of topics (topics.yaml): a contact who left "newsletter" gets no email of
 * a sequence whose `topic:` is newsletter, and stays subscribed to the rest. One row per topic
 * left; rejoining deletes it. The whole-address unsubscribe stays in `suppressions`.
 * Frozen like every migration: imports nothing from the app.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('topic_opt_outs')
    .addColumn('contact_id', 'uuid', (c) => c.notNull().references('contacts.id').onDelete('cascade'))
    .addColumn('topic', 'text', (c) => c.notNull())
    // Where it was chosen: `preferences` (the page), `cli`, ...
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('topic_opt_outs_pkey', ['contact_id', 'topic'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('topic_opt_outs').execute();
}
