import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/**
 * The monthly partitions of `events` (migration 2026-12-03T140000): which exist, adding one
 * (rows of its month that went to the default partition move into it), dropping one.
 */

/** Any one maintenance round at a time across processes: two would race to create the same partition. */
const LOCK_KEY = 'nurture.events_partitions';

export async function eventPartitionNames(db: Kysely<Database>): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = 'events'::regclass order by c.relname`.execute(db);
  return rows.map((r) => r.name);
}

/** Creates and drops partitions in one transaction, under an advisory lock; returns what it changed. */
export async function applyPartitionChanges(
  db: Kysely<Database>,
  plan: (existing: string[]) => { create: string[]; drop: string[] },
): Promise<{ created: string[]; dropped: string[]; defaultRows: boolean }> {
  return db.transaction().execute(async (tx) => {
    await sql`select pg_advisory_xact_lock(hashtext(${LOCK_KEY}))`.execute(tx);
    const { create, drop } = plan(await eventPartitionNames(tx));
    const created: string[] = [];
    for (const month of create) {
      const { rows } = await sql<{ added: boolean }>`select events_add_partition(${month}::date) as added`.execute(tx);
      if (rows[0]?.added) created.push(month);
    }
    for (const name of drop) {
      // The name came from pg_inherits and matched events_yYYYYmMM: still, never drop anything else.
      if (!/^events_y\d{4}m\d{2}$/.test(name)) continue;
      await sql`drop table ${sql.table(name)}`.execute(tx);
    }
    const { rows } = await sql<{ any: boolean }>`select exists (select 1 from events_default) as any`.execute(tx);
    return { created, dropped: drop, defaultRows: rows[0]?.any === true };
  });
}
