import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * A single-row counter bumped by every write to `sequences` (publish, pause, retire, a manual
 * fix), by a statement-level trigger in the writer's own transaction. A process reads it in the
 * transaction that applies an event and reloads the live versions when it moved, so no process
 * decides "no sequence matches" from a view it loaded earlier.
 *
 * `templates` on sequence_versions: the source of every template a version names, with its
 * content hash, stored at publish, so a pinned contact gets the template it was published with
 * and a process without the templates folder renders the same thing.
 *
 * Frozen like every migration: imports nothing from the app.
 */

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('sequences_revision')
    .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn('revision', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await sql`insert into sequences_revision (id, revision) values (1, 0)`.execute(db);
  await sql`
    create function bump_sequences_revision() returns trigger language plpgsql as $$
    begin
      update sequences_revision set revision = revision + 1 where id = 1;
      return null;
    end
    $$`.execute(db);
  await sql`
    create trigger sequences_revision_bump
    after insert or update or delete or truncate on sequences
    for each statement execute function bump_sequences_revision()`.execute(db);

  await db.schema.alterTable('sequence_versions').addColumn('templates', 'jsonb').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('sequence_versions').dropColumn('templates').execute();
  await sql`drop trigger sequences_revision_bump on sequences`.execute(db);
  await sql`drop function bump_sequences_revision()`.execute(db);
  await db.schema.dropTable('sequences_revision').execute();
}
