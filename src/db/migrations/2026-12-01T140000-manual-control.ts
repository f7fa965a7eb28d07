import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * Manual control by operators: a sequence can be paused or retired, a contact paused, and the
 * work they hold is kept, not lost. Frozen like every migration: imports nothing from the app.
 *
 * - `sequences.status`: live (triggers enroll), paused (no new enrollments, in-flight wake-ups
 *   and emails held), retired (no new enrollments, never again live from a file unless resumed).
 * - `contacts.paused_at`: nothing goes out to the contact while set.
 * - `enrollments.held_at` / `held_wake_at`: an enrollment held by a pause keeps its wake-up time
 *   here (next_wake_at is null meanwhile, so the sweeper does not offer it).
 * - touch status `held`: an email of a held enrollment, put back to `pending` on resume.
 */

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('sequences').addColumn('status', 'text', (c) => c.notNull().defaultTo('live')).execute();
  await sql`alter table sequences add constraint sequences_status_check check (status in ('live', 'paused', 'retired'))`.execute(db);
  await db.schema.alterTable('contacts').addColumn('paused_at', 'timestamptz').execute();
  await db.schema.alterTable('enrollments').addColumn('held_at', 'timestamptz').execute();
  await db.schema.alterTable('enrollments').addColumn('held_wake_at', 'timestamptz').execute();
  await sql`alter table touches drop constraint touches_status_check`.execute(db);
  await sql`alter table touches add constraint touches_status_check check (status in ('pending', 'sending', 'sent', 'done', 'failed', 'cancelled', 'held'))`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  // Held work goes back to where the engine finds it: wake-ups due, emails pending.
  await sql`update enrollments set next_wake_at = held_wake_at where held_at is not null and status = 'active'`.execute(db);
  await sql`update touches set status = 'pending' where status = 'held'`.execute(db);
  await sql`alter table touches drop constraint touches_status_check`.execute(db);
  await sql`alter table touches add constraint touches_status_check check (status in ('pending', 'sending', 'sent', 'done', 'failed', 'cancelled'))`.execute(db);
  await db.schema.alterTable('enrollments').dropColumn('held_wake_at').execute();
  await db.schema.alterTable('enrollments').dropColumn('held_at').execute();
  await db.schema.alterTable('contacts').dropColumn('paused_at').execute();
  await db.schema.alterTable('sequences').dropColumn('status').execute();
}
