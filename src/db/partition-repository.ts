import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { monthOfPartition } from '../app/partition-plan.js';
import type { PartitionedTable } from '../app/partition-plan.js';
import type { Database } from './schema.js';

/**
 * The monthly partitions of `events` (migration 2026-12-03T140000) and `touches`
 * (2026-12-04T090000): which exist, adding one (rows of its month that went to the default
 * partition move into it), dropping one.
 */

/** Any one maintenance round of a table at a time across processes: two would race to create the same partition. */
const LOCK_KEY: Record<PartitionedTable, string> = { events: 'nurture.events_partitions', touches: 'nurture.touches_partitions' };
const ADD: Record<PartitionedTable, string> = { events: 'events_add_partition', touches: 'touches_add_partition' };

export async function partitionNames(db: Kysely<Database>, table: PartitionedTable): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = ${table}::regclass order by c.relname`.execute(db);
  return rows.map((r) => r.name);
}

/**
 * A month of touches still holds work: an email not yet sent (pending, sending, held) or a touch
 * of an open task. Dropping it would lose that work, so the retention leaves it for a later round.
 */
async function holdsWork(db: Kysely<Database>, partition: string): Promise<boolean> {
  const p = sql.table(partition);
  const { rows } = await sql<{ busy: boolean }>`
    select exists (select 1 from ${p} where status in ('pending', 'sending', 'held'))
        or exists (select 1 from tasks t join ${p} x on x.id = t.touch_id where t.status = 'open') as busy`.execute(db);
  return rows[0]?.busy === true;
}

export interface PartitionChanges {
  created: string[];
  dropped: string[];
  /** Partitions past the retention kept because they still hold work (touches only). */
  held: string[];
  defaultRows: boolean;
}

/** Creates and drops partitions of `table` in one transaction, under an advisory lock; returns what it changed. */
export async function applyPartitionChanges(
  db: Kysely<Database>,
  table: PartitionedTable,
  plan: (existing: string[]) => { create: string[]; drop: string[] },
): Promise<PartitionChanges> {
  return db.transaction().execute(async (tx) => {
    await sql`select pg_advisory_xact_lock(hashtext(${LOCK_KEY[table]}))`.execute(tx);
    const { create, drop } = plan(await partitionNames(tx, table));
    const created: string[] = [];
    for (const month of create) {
      const { rows } = await sql<{ added: boolean }>`select ${sql.raw(ADD[table])}(${month}::date) as added`.execute(tx);
      if (rows[0]?.added) created.push(month);
    }
    const dropped: string[] = [];
    const held: string[] = [];
    for (const name of drop) {
      // The name came from pg_inherits and the plan: still, never drop anything but a monthly partition of this table.
      if (monthOfPartition(table, name) === undefined) continue;
      if (table === 'touches') {
        if (await holdsWork(tx, name)) {
          held.push(name);
          continue;
        }
        // What the delete trigger does for a deleted touch (a drop fires no trigger); the keys stay claimed.
        await sql`update pending_opt_ins p set touch_id = null from ${sql.table(name)} x where p.touch_id = x.id`.execute(tx);
      }
      await sql`drop table ${sql.table(name)}`.execute(tx);
      dropped.push(name);
    }
    const { rows } = await sql<{ any: boolean }>`select exists (select 1 from ${sql.table(`${table}_default`)}) as any`.execute(tx);
    return { created, dropped, held, defaultRows: rows[0]?.any === true };
  });
}
