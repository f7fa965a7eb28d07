import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * Work that keeps failing is set aside for an operator instead of being retried silently for ever.
 * Enrollments count the failed tries of their current wake-up and are quarantined after a few
 * (`nurture enrollments stuck` lists them, `nurture enrollments retry` runs them again); the
 * sweeper's index leaves quarantined ones out. Emails that gave up (status `failed`) note when.
 * Frozen like every migration: imports nothing from the app.
 */

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('enrollments')
    .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('quarantined_at', 'timestamptz')
    .execute();
  await db.schema.alterTable('touches').addColumn('failed_at', 'timestamptz').execute();
  await db.schema.dropIndex('enrollments_wake_idx').execute();
  await db.schema
    .createIndex('enrollments_wake_idx')
    .on('enrollments')
    .columns(['next_wake_at', 'id'])
    .where(sql<boolean>`status = 'active' and quarantined_at is null`)
    .execute();
  await db.schema
    .createIndex('enrollments_quarantined_idx')
    .on('enrollments')
    .column('quarantined_at')
    .where(sql<boolean>`quarantined_at is not null`)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('enrollments_quarantined_idx').execute();
  await db.schema.dropIndex('enrollments_wake_idx').execute();
  await db.schema
    .createIndex('enrollments_wake_idx')
    .on('enrollments')
    .column('next_wake_at')
    .where(sql.ref('status'), '=', 'active')
    .execute();
  await db.schema.alterTable('touches').dropColumn('failed_at').execute();
  await db.schema.alterTable('enrollments').dropColumn('quarantined_at').dropColumn('last_error').dropColumn('failures').execute();
}
