import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * Tasks of kind `notice` (made by a sequence's `notify` step). The initial schema allowed only
 * postcard, letter and call, so every event whose run reached a `notify` step failed its whole
 * transaction on `tasks_kind_check`. Frozen like every migration: imports nothing from the app.
 */

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table tasks drop constraint tasks_kind_check`.execute(db);
  await sql`alter table tasks add constraint tasks_kind_check check (kind in ('postcard', 'letter', 'call', 'notice'))`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table tasks drop constraint tasks_kind_check`.execute(db);
  // NOT VALID: notices made while this migration was applied stay; new ones are refused again.
  await sql`alter table tasks add constraint tasks_kind_check check (kind in ('postcard', 'letter', 'call')) not valid`.execute(db);
}
