import type { Kysely } from 'kysely';

/**
 * `touches.last_clicked_at`: when a tracked link of the email was last followed. Updated in the
 * same statement that reads it, so two clicks a few milliseconds apart (a link scanner's burst)
 * see each other whichever server answers them. Frozen: imports nothing from the app.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('touches').addColumn('last_clicked_at', 'timestamptz').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('touches').dropColumn('last_clicked_at').execute();
}
