import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/db/database.js';
import type { Database } from '../../src/db/schema.js';
import { beginSendAttempts, lockTouches, markSent } from '../../src/db/touch-repository.js';
import { createTestDatabase } from '../support/databases.js';
import { explain, planNodes, recordingKysely } from '../support/partition-data.js';
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

  beforeAll(async () => {
    database = await createTestDatabase();
    const store = await openStore({ databaseUrl: database.url, dataDir: '/tmp/nurture-unused', poolSize: 1 });
    await store.close();
    rec = recordingKysely(database.url);
    const db = rec.db;
    // The partition of this month, kept from autovacuum so that it stays never analysed.
    const { rows } = await sql<{ name: string }>`
      select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'touches'::regclass and pg_get_expr(c.relpartbound, c.oid) like ${`%'${new Date().toISOString().slice(0, 7)}-01%`}`.execute(db);
    partition = rows[0]!.name;
    await sql`alter table ${sql.table(partition)} set (autovacuum_enabled = off)`.execute(db);
    await sql`insert into contacts (email) select 'plan-' || i || '@example.com' from generate_series(1, ${TOUCHES}) i`.execute(db);
    await sql`
      insert into touches (key, contact_id, step_id, kind, template, status, due_at)
      select 'k-' || c.id, c.id, 'welcome', 'email', 'welcome', 'pending', now() from contacts c`.execute(db);
    const stats = await sql<{ n: string }>`select count(*) as n from pg_stats where tablename in ('touches', ${partition})`.execute(db);
    expect(Number(stats.rows[0]!.n)).toBe(0);
    ids = (await db.selectFrom('touches').select('id').orderBy('created_at').limit(BATCH).execute()).map((r) => r.id);
  }, 120_000);
  afterAll(async () => {
    await rec?.close();
    await database?.drop({ checkLeaks: true });
  });

  async function planOf(f: (tx: Kysely<Database>) => Promise<unknown>): Promise<PlanNode> {
    const n = rec.queries.length;
    const rollback = new Error('rollback');
    await rec.db
      .transaction()
      .execute(async (tx) => {
        await f(tx);
        throw rollback;
      })
      .catch((err: unknown) => {
        if (err !== rollback) throw err;
      });
    const q = rec.queries.slice(n).filter((x) => !/^(begin|commit|rollback)/i.test(x.sql)).at(-1)!;
    return explain(database.url, q, { analyze: true });
  }
  const scansOf = (plan: PlanNode, type: string) => planNodes(plan).filter((n) => n['Node Type'] === type && n['Relation Name'] === partition);

  it('would scan the partition if the touches were asked for by id in (...): the condition this test is about holds', async () => {
    const plan = await planOf((tx) => tx.selectFrom('touches').selectAll().where('id', 'in', ids).execute());
    expect(scansOf(plan, 'Seq Scan')).not.toHaveLength(0);
  });

  it('locks, marks sending and marks sent through the primary key, with no scan of the partition', async () => {
    const plans = [
      await planOf((tx) => lockTouches(tx, ids)),
      await planOf((tx) => beginSendAttempts(tx, ids.map((id) => ({ id, messageId: `${id}@example.com`, subject: 'Hello' })))),
      await planOf((tx) => markSent(tx, ids, new Date())),
    ];
    for (const plan of plans) {
      expect(scansOf(plan, 'Seq Scan')).toEqual([]);
      const probes = planNodes(plan).filter((n) => /^(Index Scan|Index Only Scan|Bitmap Index Scan)$/.test(n['Node Type']) && n['Index Name'] === `${partition}_pkey`);
      expect(probes.length).toBeGreaterThan(0);
    }
  });

  it('does what it says: the batch is locked in id order, marked sending (in doubt the second time), then sent', async () => {
    const db = rec.db;
    const locked = await db.transaction().execute((tx) => lockTouches(tx, [...ids].reverse()));
    expect(locked.map((t) => t.id)).toEqual([...ids].sort());
    const attempts = ids.map((id) => ({ id, messageId: `${id}@example.com`, subject: 'Hello' }));
    expect([...(await beginSendAttempts(db, attempts)).values()].every((d) => d === false)).toBe(true);
    expect([...(await beginSendAttempts(db, attempts)).values()].every((d) => d === true)).toBe(true);
    await markSent(db, ids, new Date('2026-12-04T10:00:00Z'));
    const rows = await db.selectFrom('touches').select(['status', 'sent_at', 'attempts', 'subject']).where('id', 'in', ids).execute();
    expect(rows).toHaveLength(BATCH);
    expect(rows.every((r) => r.status === 'sent' && r.sent_at?.toISOString() === '2026-12-04T10:00:00.000Z' && r.attempts === 2 && r.subject === 'Hello')).toBe(true);
    const untouched = await db.selectFrom('touches').select(db.fn.countAll<string>().as('n')).where('status', '=', 'pending').executeTakeFirstOrThrow();
    expect(Number(untouched.n)).toBe(TOUCHES - BATCH);
  });
});
