import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { CompiledQuery, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dueWakes, insertEnrollments } from '../../src/db/enrollment-repository.js';
import { unsentEmails } from '../../src/db/touch-repository.js';
import type { NewEnrollment } from '../../src/db/enrollment-repository.js';
import { createLogger } from '../../src/logger.js';
import type { Queues } from '../../src/workers/queues.js';
import { openQueues } from '../../src/workers/queues.js';
import { redisConnection } from '../../src/workers/redis-connection.js';
import { SWEEP_LOCK, Sweeper } from '../../src/workers/sweeper.js';
import { deleteQueueKeys } from '../support/engine.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';
import { REDIS_TEST_URL } from '../support/services.js';

/**
 * The sweeper on its own, against real Postgres/PGlite and Redis, with a fixed clock: it reads
 * page after page past what it offered (nothing is read twice between full passes), offers
 * nothing that is still queued, offers again what Redis lost at the next full pass, never offers
 * quarantined enrollments, answers both queries from an index alone, and skips a sweep while
 * another process holds the sweep lock.
 */
const BATCH = 10;
const PER_SWEEP = 20;
const DUE = 25;
const NOW = Date.parse('2026-03-02T09:00:00Z');

describe.each(['postgres', 'pglite'] as const)('the sweeper (%s)', (kind) => {
  let store: TestStore;
  let redis: Redis;
  let queues: Queues;
  let prefix: string;
  let sweeper: Sweeper;
  let ids: string[];

  beforeAll(async () => {
    store = await createTestStore(kind);
    prefix = `tsw${randomBytes(4).toString('hex')}`;
    redis = redisConnection(REDIS_TEST_URL, 'producer');
    queues = openQueues(redis, prefix, { wakes: 4, sends: 4 });
    // No grace for a job on its way: a job removed here counts as lost at once (batch-jobs.test.ts tests the grace).
    sweeper = new Sweeper(store.db, queues, { horizonMs: 60_000, intervalMs: 1_000, log: createLogger('silent'), batch: BATCH, perSweep: PER_SWEEP, markedGraceMs: 0 });
    const contact = await store.db
      .insertInto('contacts')
      .values({ email: 'sweep@example.com', attributes: '{}', tags: '[]' })
      .returning('id')
      .executeTakeFirstOrThrow();
    ids = Array.from({ length: DUE + 2 }, () => randomUUID());
    const rows: NewEnrollment[] = ids.map((id, i) => ({
      id,
      contact_id: contact.id,
      sequence_id: `s${i}`,
      sequence_version: 'v1',
      status: 'active',
      exit_reason: null,
      state: { v: 1 } as never,
      step_id: 'a',
      // All due, a minute apart, in the past: the order the sweeper reads them in.
      next_wake_at: new Date(NOW - (DUE + 2 - i) * 60_000),
      enrolled_at: new Date(NOW - 86_400_000),
      ended_at: null,
    }));
    await insertEnrollments(store.db, rows);
    // The last two are quarantined: never offered.
    await store.db.updateTable('enrollments').set({ quarantined_at: new Date(NOW), failures: 5, last_error: 'boom' }).where('id', 'in', ids.slice(DUE)).execute();
  });
  afterAll(async () => {
    await queues?.close();
    if (redis) {
      await deleteQueueKeys(redis, prefix);
      await redis.quit();
    }
    await store?.cleanup();
  });

  const queuedJobs = () => queues.wakes.getJobs(['delayed', 'waiting', 'wait', 'prioritized']);
  const carried = (j: { data: unknown }) => (j.data as { wakeUps: { enrollmentId: string }[] }).wakeUps.map((w) => w.enrollmentId);

  /** Every enrollment some queued job carries, as often as it is carried. */
  async function queuedEnrollments(): Promise<string[]> {
    return (await queuedJobs()).flatMap(carried).sort();
  }

  it('offers a due cohort page by page, reading on from where the last sweep stopped', async () => {
    const first = await sweeper.sweepOnce(NOW);
    expect(first).toEqual({ wakes: PER_SWEEP, sends: 0, skipped: false });
    expect((await sweeper.sweepOnce(NOW + 1_000)).wakes).toBe(DUE - PER_SWEEP);
    expect((await sweeper.sweepOnce(NOW + 2_000)).wakes).toBe(0);
    // Each once, four to a job from each page of ten (all are due already, so they share jobs).
    expect(await queuedEnrollments()).toEqual(ids.slice(0, DUE).sort());
    const jobs = await queuedJobs();
    expect(jobs.map((j) => carried(j).length).sort((a, b) => a - b)).toEqual([1, 2, 2, 4, 4, 4, 4, 4]);
    expect(jobs.every((j) => j.name === 'wakes')).toBe(true);
  });

  it('offers nothing that is still queued, and at the next full pass what Redis lost', async () => {
    // A full pass from the start: everything is still queued, so nothing is offered.
    expect((await sweeper.sweepOnce(NOW + 30_000)).wakes).toBe(0);
    const lost = (await queuedJobs()).find((j) => carried(j).includes(ids[3]!))!;
    const lostWith = carried(lost);
    expect(lostWith.length).toBeGreaterThan(0);
    await lost.remove();
    // Between full passes only what lies past the cursor is read.
    expect((await sweeper.sweepOnce(NOW + 31_000)).wakes).toBe(0);
    // What the lost job carried, and nothing else, is offered again.
    expect((await sweeper.sweepOnce(NOW + 55_000)).wakes).toBe(lostWith.length);
    expect(await queuedEnrollments()).toEqual(ids.slice(0, DUE).sort());
  });

  it('answers both of its queries from an index alone, in order, without a sort', async () => {
    const captured: { sql: string; parameters: readonly unknown[] }[] = [];
    const spy = store.db.withPlugin({
      transformQuery: (a) => {
        if (a.node.kind === 'SelectQueryNode') captured.push(store.db.getExecutor().compileQuery(a.node, a.queryId));
        return a.node;
      },
      transformResult: async (a) => a.result,
    });
    await dueWakes(spy, new Date(NOW), 5, { at: '2000-01-01 00:00:00+00', id: randomUUID() });
    await unsentEmails(spy, new Date(NOW), 5, { at: '2000-01-01 00:00:00+00', id: randomUUID() });
    expect(captured).toHaveLength(2);
    await sql`vacuum analyze enrollments`.execute(store.db);
    await sql`vacuum analyze touches`.execute(store.db);
    const plans = await store.db.transaction().execute(async (tx) => {
      // A handful of rows: without this the planner rightly reads the table instead.
      await sql`set local enable_seqscan = off`.execute(tx);
      const out: string[] = [];
      for (const q of captured) {
        const r = await tx.executeQuery<Record<string, string>>(CompiledQuery.raw(`explain ${q.sql}`, [...q.parameters]));
        out.push(r.rows.map((row) => Object.values(row)[0]).join('\n'));
      }
      return out;
    });
    expect(plans[0]).toMatch(/Index Only Scan using enrollments_wake_idx/);
    // touches is partitioned by month: each partition's copy of touches_unsent_idx (created_at, id) is named after the partition.
    expect(plans[1]).toMatch(/Index Only Scan using touches_\w+_created_at_id_idx/);
    for (const p of plans) expect(p).not.toMatch(/Sort/);
  });

  it('skips a sweep while another session holds the sweep lock', async () => {
    const later = NOW + 60_000; // everything may be offered again by now
    if (kind === 'pglite') {
      // One process, one session: the lock is always free, and the SQL runs there too.
      expect((await sweeper.sweepOnce(later)).skipped).toBe(false);
      return;
    }
    const held = await store.db.transaction().execute(async (tx) => {
      await sql`select pg_advisory_xact_lock(${SWEEP_LOCK}, hashtext(current_schema()))`.execute(tx);
      return sweeper.sweepOnce(later);
    });
    expect(held).toEqual({ wakes: 0, sends: 0, skipped: true });
    expect((await sweeper.sweepOnce(later)).skipped).toBe(false);
  });
});
