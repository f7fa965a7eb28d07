import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import { cannotWrite } from './sql-state.js';

/** Names taken per transaction: a few thousand contacts recomputed in well under a second. */
const CHUNK = 2_000;

/**
 * Brings `report_contacts` up to date (migration 2026-12-04T120000): recomputes every contact
 * named before this call, oldest names first, a transaction per chunk. Names added meanwhile are
 * left for the next catch-up, so writers that keep naming contacts cannot hold a report up for
 * ever, and a report still counts every write committed before it began. Returns how many names
 * it took.
 */
export async function catchUpReportRollups(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ mark: string | null }>`select max(seq)::text as mark from report_pending`.execute(db);
  const mark = rows[0]?.mark ?? null;
  if (mark === null) return 0;
  let taken = 0;
  for (;;) {
    const r = await sql<{ n: number }>`select report_catch_up(${CHUNK}, ${mark}::bigint) as n`.execute(db);
    const n = r.rows[0]?.n ?? 0;
    taken += n;
    if (n < CHUNK) return taken;
  }
}

/**
 * catchUpReportRollups where it can run; on a connection that cannot write (a replica, a
 * read-only role), how many contacts changed since the last catch-up and are not counted yet:
 * a report still reads what the engine's own catch-up (every few seconds, on the primary) left.
 */
export async function catchUpReportRollupsIfWritable(db: Kysely<Database>): Promise<{ uncounted: number }> {
  try {
    await catchUpReportRollups(db);
    return { uncounted: 0 };
  } catch (err) {
    if (!cannotWrite(err)) throw err;
    const { rows } = await sql<{ n: number }>`select count(distinct contact_id)::int as n from report_pending`.execute(db);
    return { uncounted: rows[0]?.n ?? 0 };
  }
}
