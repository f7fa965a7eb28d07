import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * Lead scoring: `contacts.score` (there since the start, always 0 until now) is the rounded total
 * of a fit part and an engagement part, kept unrounded beside it. All three are a cache of a pure
 * function of the scoring rules, the contact and its events; `score_at` is when it was computed,
 * so the sweep can refresh the decaying ones that have not been looked at for a while.
 * A contact's events are read through events_contact_id_seq_idx: no new index on events, whose
 * inserts are the opt-in path. Frozen like every migration: imports nothing from the app.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('contacts')
    .addColumn('fit_score', 'float8', (c) => c.notNull().defaultTo(0))
    .addColumn('engagement_score', 'float8', (c) => c.notNull().defaultTo(0))
    .addColumn('score_at', 'timestamptz')
    .execute();
  // The sweep's question: whose engagement is still decaying, oldest computation first.
  await db.schema
    .createIndex('contacts_score_at_decaying_idx')
    .on('contacts')
    .column('score_at')
    .where(sql.ref('engagement_score'), '>', 0)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('contacts_score_at_decaying_idx').execute();
  await db.schema.alterTable('contacts').dropColumn('score_at').dropColumn('engagement_score').dropColumn('fit_score').execute();
}
