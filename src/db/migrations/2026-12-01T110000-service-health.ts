import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * The last known state of a service the engine depends on (the mail transport first), written by
 * the engine process that saw it and read by others (`nurture stats`, a readiness check). One row
 * per service; `since` is when the state began, `checked_at` when it was last confirmed.
 * Frozen like every migration: imports nothing from the app.
 */

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('service_health')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('up', 'down')`))
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('since', 'timestamptz', (c) => c.notNull())
    .addColumn('checked_at', 'timestamptz', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('service_health').execute();
}
