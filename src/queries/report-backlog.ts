import { sql } from 'kysely';
import type { ReadDb } from './read-db.js';

/** Names waiting for the report rollups' catch-up (report_pending): a few seconds' writes, unless the catch-up falls behind or fails. */
export async function reportBacklog(db: ReadDb): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from report_pending`.execute(db);
  return rows[0]?.n ?? 0;
}
