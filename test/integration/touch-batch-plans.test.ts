import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DateTime } from 'luxon';
import { partitionName } from '../../src/app/partition-plan.js';
import { openStore } from '../../src/db/database.js';
import { partitionNames } from '../../src/db/partition-repository.js';
import type { Database } from '../../src/db/schema.js';
import { beginSendAttempts, lockTouches, markSent } from '../../src/db/touch-repository.js';
import type { TouchKey } from '../../src/db/touch-repository.js';
import { createTestDatabase, withSession } from '../support/databases.js';
import { planNodes, planOfLast, recordingKysely } from '../support/partition-data.js';
import type { PlanNode } from '../support/partition-data.js';

/**
 * A send batch's three statements on touches (lock, mark sending, mark sent) against a month's
 * partition that autovacuum has not analysed yet: the state of every new month's first minute,
 * and of a whole burst into a new database. Without statistics the planner takes `id in (50
 * ids)` for a quarter of the table and scans all of it; these statements must probe the index
 * for each touch whatever the statistics say. Real PostgreSQL only (PGlite has no autovacuum
 * and the same planner).
 */

const TOUCHES = 30_000;
const BATCH = 50;

describe('a send batch on a partition never analysed', { timeout: 120_000 }, () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let rec: ReturnType<typeof recordingKysely>;
  let partition: string;
  let ids: string[];
  let keys: TouchKey[];

  beforeAll(async () => {
    database = await createTestDatabase();
    const store = await openStore({ databaseUrl: database.url, dataDir: '/tmp/nurture-unused', poolSize: 1 });
    await store.close();
    rec = recordingKysely(database.url);
    const db = rec.db;
    // The partition of this month (the engine's inserts take the database clock), kept from
    // autovacuum so that it stays never analysed.
    const { rows } = await sql<{ now: Date }>`select now() as now`.execute(db);
    partition = partitionName('touches', DateTime.fromJSDate(rows[0]!.now));
    expect(await partitionNames(db, 'touches')).toContain(partition);
    await sql`alter table ${sql.table(partition)} set (autovacuum_enabled = off)`.execute(db);
    await sql`insert into contacts (email) select 'plan-' || i || '@example.com' from generate_series(1, ${TOUCHES}) i`.execute(db);
    await sql`
      insert into touches (key, contact_id, step_id, kind, template, status, due_at)
      select 'k-' || c.id, c.id, 'welcome', 'email', 'welcome', 'pending', now() from contacts c`.execute(db);
    const stats = await sql<{ n: string }>`select count(*) as n from pg_stats where tablename in ('touches', ${partition})`.execute(db);
    expect(Number(stats.rows[0]!.n)).toBe(0);
    keys = await db.selectFrom('touches').select(['id', sql<string>`created_at::text`.as('at')]).orderBy('created_at').limit(BATCH).execute();
    ids = keys.map((k) => k.id);
  }, 120_000);
  afterAll(async () => {
    await rec?.close();
    await database?.drop({ checkLeaks: true });
  });

  const planOf = async (f: (tx: Kysely<Database>) => Promise<unknown>): Promise<PlanNode> => (await planOfLast(rec, database.url, f, { analyze: true })).plan;
  const scansOf = (plan: PlanNode, type: string) => planNodes(plan).filter((n) => n['Node Type'] === type && n['Relation Name'] === partition);
  /** Every node that reads the partition, with the index it goes through (a bitmap heap scan's is its child's) and its rows per loop. */
  const readsOf = (plan: PlanNode) =>
    planNodes(plan)
      .filter((n) => / Scan$/.test(n['Node Type']) && n['Relation Name'] === partition)
      .map((n) => ({ type: n['Node Type'], index: n['Index Name'] ?? n.Plans?.[0]?.['Index Name'], rows: n['Actual Rows'] ?? 0 }));

  it('would scan the partition if the touches were asked for by id in (...): the condition this test is about holds', async () => {
    const plan = await planOf((tx) => tx.selectFrom('touches').selectAll().where('id', 'in', ids).execute());
    expect(scansOf(plan, 'Seq Scan')).not.toHaveLength(0);
  });

  it('locks, marks sending and marks sent through the primary key, with no scan of the partition', async () => {
    const plans = [
      await planOf((tx) => lockTouches(tx, ids)),
      await planOf((tx) => beginSendAttempts(tx, keys.map((k) => ({ ...k, messageId: `${k.id}@example.com`, subject: 'Hello' })))),
      await planOf((tx) => markSent(tx, keys, new Date())),
    ];
    for (const plan of plans) {
      const reads = readsOf(plan);
      // lockTouches reads the partition once per touch (the probe that locks); the two UPDATEs go to each row by the full key it returned.
      expect(reads.length).toBeGreaterThan(0);
      for (const r of reads) {
        expect(r.type).not.toBe('Seq Scan');
        expect(r.index).toBe(`${partition}_pkey`);
        // One touch per probe, never a range of the partition.
        expect(r.rows).toBeLessThanOrEqual(1);
      }
    }
  });

  it('takes the locks in id order whatever order the ids come in, so two batches sharing touches cannot deadlock', async () => {
    const sorted = [...ids].sort();
    await withSession(database.url, (other) => withSession(database.url, async (watcher) => {
      // Another transaction holds the highest id: a batch locking in id order holds all the others when it stops there.
      await other.query('begin');
      await other.query('select 1 from touches where id = $1 for update', [sorted.at(-1)]);
      const batch = rec.db.transaction().execute((tx) => lockTouches(tx, [...ids].reverse()));
      for (let i = 0; i < 200; i++) {
        const { rows } = await watcher.query("select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'");
        if (rows[0].n > 0) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      await watcher.query('begin');
      const free = await watcher.query('select id from touches where id = any($1::uuid[]) for update skip locked', [ids]);
      await watcher.query('rollback');
      // Every touch is held, by the batch (49, the lower ids) or by the other transaction (the highest).
      expect(free.rows).toEqual([]);
      await other.query('rollback');
      expect((await batch).map((t) => t.id)).toEqual(sorted);
    }));
  });

  it('does what it says: the batch is locked once per touch and returned in id order, marked sending (in doubt the second time), then sent', async () => {
    const db = rec.db;
    const locked = await db.transaction().execute((tx) => lockTouches(tx, [...ids].reverse().concat(ids.slice(0, 3).map((id) => id.toUpperCase()))));
    expect(locked.map((t) => t.id)).toEqual([...ids].sort());
    // The keys the lock returned are the ones the UPDATEs take, microseconds and all.
    expect(locked.map((t) => ({ id: t.id, at: t.key_at }))).toEqual([...keys].sort((a, b) => (a.id < b.id ? -1 : 1)));
    const attempts = locked.map((t) => ({ id: t.id, at: t.key_at, messageId: `${t.id}@example.com`, subject: 'Hello' }));
    const first = await beginSendAttempts(db, attempts);
    expect(first.size).toBe(BATCH);
    expect([...first.values()].every((d) => d === false)).toBe(true);
    const again = await beginSendAttempts(db, attempts);
    expect(again.size).toBe(BATCH);
    expect([...again.values()].every((d) => d === true)).toBe(true);
    // A key that names no row (its created_at off by a microsecond) marks nothing, and says so.
    const lockedKeys = locked.map((t) => ({ id: t.id, at: t.key_at }));
    const shifted = await sql<{ at: string }>`select (${lockedKeys[0]!.at}::timestamptz + interval '1 microsecond')::text as at`.execute(db);
    expect(await markSent(db, [{ id: lockedKeys[0]!.id, at: shifted.rows[0]!.at }], new Date('2026-12-04T10:00:00Z'))).toEqual(new Set());
    expect(await markSent(db, lockedKeys, new Date('2026-12-04T10:00:00Z'))).toEqual(new Set(ids));
    const rows = await db.selectFrom('touches').select(['status', 'sent_at', 'attempts', 'subject']).where('id', 'in', ids).execute();
    expect(rows).toHaveLength(BATCH);
    expect(rows.every((r) => r.status === 'sent' && r.sent_at?.toISOString() === '2026-12-04T10:00:00.000Z' && r.attempts === 2 && r.subject === 'Hello')).toBe(true);
    const untouched = await db.selectFrom('touches').select(db.fn.countAll<string>().as('n')).where('status', '=', 'pending').executeTakeFirstOrThrow();
    expect(Number(untouched.n)).toBe(TOUCHES - BATCH);
  });
});
