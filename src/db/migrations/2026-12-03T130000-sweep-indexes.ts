import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * Indexes that answer both sweeper queries from the index alone, in the order they page in:
 * due wake-ups by (next_wake_at, id) carrying wake_version (the job id needs it), and unsent
 * emails by (created_at, id). The old outbox index led with status, so two statuses could only
 * be read in created_at order by sorting the whole pending backlog.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists enrollments_wake_idx`.execute(db);
  await sql`create index enrollments_wake_idx on enrollments (next_wake_at, id) include (wake_version) where status = 'active' and quarantined_at is null`.execute(db);
  await sql`create index touches_unsent_idx on touches (created_at, id) where kind = 'email' and status in ('pending', 'sending')`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists touches_unsent_idx`.execute(db);
  await sql`drop index if exists enrollments_wake_idx`.execute(db);
  await sql`create index enrollments_wake_idx on enrollments (next_wake_at, id) where status = 'active' and quarantined_at is null`.execute(db);
}
