import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Resolves when the database answers a query (readiness probes). */
export async function pingDatabase(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db);
}

/** The database's clock, for comparing it with this host's (nurture doctor). */
export async function databaseNow(db: Kysely<Database>): Promise<Date> {
  const r = await sql<{ now: Date }>`select now() as now`.execute(db);
  return new Date(r.rows[0]!.now);
}
