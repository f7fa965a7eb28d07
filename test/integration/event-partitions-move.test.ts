import { Kysely, Migrator, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { migrateToLatest } from '../../src/db/migrate.js';
import { migrationProvider, migrations } from '../../src/db/migrations/index.js';
import type { Database } from '../../src/db/schema.js';
import { unmigratedStore } from '../support/unmigrated-store.js';

/**
 * Migration 2026-12-03T160000-event-partition-move: `events_add_partition` moves a month's rows
 * out of `events_default` atomically. Every row of the month ends in the new partition and none
 * is lost; rows of other months stay in the default; on PostgreSQL, an insert into the default
 * partition under way in another connection while the partition is made is waited for and moved
 * too, and one committed while the move is half-way (held there by a gate) is not lost: the
 * previous body failed at ATTACH on the first and deleted the second without copying it.
 * Down restores the previous body.
 */

const MOVE = '2026-12-03T160000-event-partition-move';
const BEFORE = Object.keys(migrations).filter((n) => n < MOVE).at(-1)!;

/** Resolves once the backend `pid` waits on a lock (a table lock, or the test's advisory gate). */
async function waitsOnLock(observer: pg.Client, pid: number): Promise<void> {
  await vi.waitFor(async () => {
    const { rows } = await observer.query<{ w: string | null }>('select wait_event_type as w from pg_stat_activity where pid = $1', [pid]);
    expect(rows[0]!.w).toBe('Lock');
  }, { timeout: 10_000, interval: 20 });
}

async function partitionOf(db: Kysely<Database>): Promise<Map<string, string>> {
  const { rows } = await sql<{ id: string; part: string }>`select id, tableoid::regclass::text as part from events`.execute(db);
  return new Map(rows.map((r) => [r.id, r.part]));
}

describe.each(['postgres', 'pglite'] as const)('moving rows out of the default partition on %s', (kind) => {
  let backend: Awaited<ReturnType<typeof unmigratedStore>>;
  let db: Kysely<Database>;
  let contactId: string;

  beforeAll(async () => {
    backend = await unmigratedStore(kind);
    db = backend.db;
    expect((await migrateToLatest(db)).applied).toContain(MOVE);
    contactId = (await sql<{ id: string }>`insert into contacts (email) values ('ann@example.com') returning id`.execute(db)).rows[0]!.id;
  });
  afterAll(async () => {
    await backend?.close();
  });

  it('moves every row of the month into its new partition, loses none, and leaves other months in the default', async () => {
    // Months far ahead have no partition: their rows land in the default one.
    await sql`
      insert into events (id, contact_id, type, occurred_at, received_at)
      select 'jan-' || g, ${contactId}, 'email_opened', now(), timestamptz '2040-01-01T00:00:00Z' + make_interval(mins => g * 400)
      from generate_series(0, 99) g`.execute(db);
    await sql`
      insert into events (id, contact_id, type, occurred_at, received_at) values
        ('feb-first', ${contactId}, 'email_opened', now(), ${new Date('2040-02-01T00:00:00Z')}),
        ('dec-last', ${contactId}, 'email_opened', now(), ${new Date('2039-12-31T23:59:59.999Z')})`.execute(db);
    const before = await partitionOf(db);
    expect([...before.values()].every((p) => p === 'events_default')).toBe(true);
    const ids = (await sql<{ n: number }>`select count(*)::int as n from event_ids`.execute(db)).rows[0]!.n;

    const { rows } = await sql<{ added: boolean }>`select events_add_partition('2040-01-01'::date) as added`.execute(db);
    expect(rows[0]!.added).toBe(true);

    const after = await partitionOf(db);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    const jan = [...after].filter(([id]) => id.startsWith('jan-'));
    expect(jan).toHaveLength(100);
    expect(jan.every(([, p]) => p === 'events_y2040m01')).toBe(true);
    // The month's bounds are UTC: the instant before and the instant after stay in the default.
    expect(after.get('feb-first')).toBe('events_default');
    expect(after.get('dec-last')).toBe('events_default');
    expect((await sql<{ n: number }>`select count(*)::int as n from events_default`.execute(db)).rows[0]!.n).toBe(2);
    expect((await sql<{ n: number }>`select count(*)::int as n from event_ids`.execute(db)).rows[0]!.n).toBe(ids);
    // A second call finds the partition and changes nothing.
    expect((await sql<{ added: boolean }>`select events_add_partition('2040-01-15'::date) as added`.execute(db)).rows[0]!.added).toBe(false);
  });

  it('migrates down to the previous body and up again', async () => {
    const body = async () => (await sql<{ src: string }>`select prosrc as src from pg_proc where proname = 'events_add_partition'`.execute(db)).rows[0]!.src;
    expect(await body()).toMatch(/with moved as \(delete from events_default/);
    expect((await new Migrator({ db, provider: migrationProvider }).migrateTo(BEFORE)).error).toBeUndefined();
    expect(await body()).toMatch(/delete from events_default where received_at >= lo and received_at < hi;/);
    expect(await body()).not.toMatch(/lock table/);
    expect((await migrateToLatest(db)).applied).toEqual(Object.keys(migrations).filter((n) => n >= MOVE));
    expect(await body()).toMatch(/lock table events_default in access exclusive mode/);
  });

  it.runIf(kind === 'postgres')('waits for an insert into the default partition under way in another connection, and moves its row too', async () => {
    const writer = new pg.Client({ connectionString: backend.url });
    const maintainer = new pg.Client({ connectionString: backend.url });
    await writer.connect();
    await maintainer.connect();
    try {
      const pid = (await maintainer.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
      await writer.query('begin');
      await writer.query(`insert into events (id, contact_id, type, occurred_at, received_at) values ('mar-late', $1, 'email_opened', now(), '2040-03-20T00:00:00Z')`, [contactId]);

      const added = maintainer.query<{ added: boolean }>(`select events_add_partition('2040-03-01'::date) as added`);
      // The maintainer blocks on the writer's lock on events_default before it reads a row.
      await waitsOnLock(writer, pid);
      await writer.query('commit');

      expect((await added).rows[0]!.added).toBe(true);
      expect((await partitionOf(db)).get('mar-late')).toBe('events_y2040m03');
    } finally {
      await writer.end();
      await maintainer.end();
    }
  });

  it.runIf(kind === 'postgres')('an insert that comes while the partition is being made waits, then lands in the new partition', async () => {
    const writer = new pg.Client({ connectionString: backend.url });
    const maintainer = new pg.Client({ connectionString: backend.url });
    await writer.connect();
    await maintainer.connect();
    try {
      const pid = (await writer.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
      await sql`insert into events (id, contact_id, type, occurred_at, received_at) values ('apr-early', ${contactId}, 'email_opened', now(), ${new Date('2040-04-02T00:00:00Z')})`.execute(db);
      await maintainer.query('begin');
      expect((await maintainer.query<{ added: boolean }>(`select events_add_partition('2040-04-01'::date) as added`)).rows[0]!.added).toBe(true);

      const inserted = writer.query(`insert into events (id, contact_id, type, occurred_at, received_at) values ('apr-late', $1, 'email_opened', now(), '2040-04-25T00:00:00Z') returning id`, [contactId]);
      await waitsOnLock(maintainer, pid);
      await maintainer.query('commit');

      expect((await inserted).rows).toEqual([{ id: 'apr-late' }]);
      const where = await partitionOf(db);
      expect(where.get('apr-early')).toBe('events_y2040m04');
      expect(where.get('apr-late')).toBe('events_y2040m04');
    } finally {
      await writer.end();
      await maintainer.end();
    }
  });

  it.runIf(kind === 'postgres')('keeps a row committed into the default partition while the move is half-way (the reviewed loss)', async () => {
    // A gate holds the move after it has read the month's rows and before it deletes them: a
    // check constraint (copied to the new table by LIKE ... INCLUDING CONSTRAINTS) that, for the
    // row 'gate', waits on an advisory lock the test holds. The previous body copied under one
    // snapshot and deleted under a later one, so a row committed meanwhile was deleted uncopied.
    await sql`create table move_gate_on (on_ boolean)`.execute(db);
    await sql`create function move_gate(id text) returns boolean language plpgsql as $$
      begin
        if id = 'gate' and exists (select 1 from move_gate_on) then perform pg_advisory_xact_lock_shared(4242); end if;
        return true;
      end $$`.execute(db);
    await sql`alter table events add constraint events_move_gate check (move_gate(id))`.execute(db);
    const control = new pg.Client({ connectionString: backend.url });
    const writer = new pg.Client({ connectionString: backend.url });
    const maintainer = new pg.Client({ connectionString: backend.url });
    await control.connect();
    await writer.connect();
    await maintainer.connect();
    try {
      await sql`insert into events (id, contact_id, type, occurred_at, received_at) values ('gate', ${contactId}, 'email_opened', now(), ${new Date('2040-05-03T00:00:00Z')})`.execute(db);
      await control.query('select pg_advisory_lock(4242)');
      await control.query('insert into move_gate_on values (true)');
      const [mpid, wpid] = await Promise.all([maintainer, writer].map(async (c) => (await c.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid));

      const added = maintainer.query<{ added: boolean }>(`select events_add_partition('2040-05-01'::date) as added`);
      await waitsOnLock(control, mpid!);
      // Either committed at once (nothing stops it) or waits for the move: both are allowed, losing it is not.
      let done = false;
      const inserted = writer.query(`insert into events (id, contact_id, type, occurred_at, received_at) values ('may-late', $1, 'email_opened', now(), '2040-05-28T00:00:00Z') returning id`, [contactId])
        .finally(() => { done = true; });
      await vi.waitFor(async () => {
        if (done) return;
        const { rows } = await control.query<{ w: string | null }>('select wait_event_type as w from pg_stat_activity where pid = $1', [wpid]);
        expect(rows[0]!.w).toBe('Lock');
      }, { timeout: 10_000, interval: 20 });
      await control.query('select pg_advisory_unlock(4242)');

      expect((await added).rows[0]!.added).toBe(true);
      expect((await inserted).rows).toEqual([{ id: 'may-late' }]);
      const where = await partitionOf(db);
      expect(where.get('gate')).toBe('events_y2040m05');
      expect(where.get('may-late')).toBe('events_y2040m05');
      // Its id is claimed, and the event is there to back it (a claimed id with no event is lost for good).
      expect((await sql<{ n: number }>`select count(*)::int as n from event_ids where id = 'may-late'`.execute(db)).rows[0]!.n).toBe(1);
    } finally {
      await control.end();
      await writer.end();
      await maintainer.end();
      await sql`alter table events drop constraint if exists events_move_gate`.execute(db);
      await sql`drop function if exists move_gate(text)`.execute(db);
      await sql`drop table if exists move_gate_on`.execute(db);
    }
  });
});
