import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Names taken per transaction: a few thousand contacts recomputed in well under a second. */
const CHUNK = 2_000;

/**
 * Brings `report_contacts` up to date (migration 2026-12-04T120000): recomputes every contact
 * named since the last catch-up, a transaction per chunk, until fewer names than a chunk are
 * left. Bounded by what was named when it began, so writers that keep naming contacts cannot
 * hold a report up for ever; what they name meanwhile waits for the next catch-up. Returns how
 * many names it took.
 */
export async function catchUpReportRollups(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from report_pending`.execute(db);
  const rounds = Math.ceil((rows[0]?.n ?? 0) / CHUNK) + 1;
  let taken = 0;
  for (let i = 0; i < rounds; i++) {
    const r = await sql<{ n: number }>`select report_catch_up(${CHUNK}) as n`.execute(db);
    const n = r.rows[0]?.n ?? 0;
    taken += n;
    if (n < CHUNK) break;
  }
  return taken;
}
