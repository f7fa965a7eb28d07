import { Migrator, sql } from 'kysely';
import pg from 'pg';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest } from '../../src/db/migrate.js';
import { migrationProvider, migrations } from '../../src/db/migrations/index.js';
import { catchUpReportRollups } from '../../src/db/report-rollup-repository.js';
import type { Database } from '../../src/db/schema.js';
import { unmigratedStore } from '../support/unmigrated-store.js';

/**
 * Migration 2026-12-04T120000-report-rollups-deferred, down and up again, while writers keep
 * committing opt-ins and stage changes (the way the engine writes them: contact, event and stage
 * change in one transaction). Its `down` says to stop the engine first; an operator who does not
 * must lose nothing: a writer caught by the migration fails with a deadlock or a missing table
 * and is tried again (as a BullMQ job is), and once both are done the rollup is what recomputing
 * every contact from scratch gives. PostgreSQL only: PGlite has one session, so nothing races.
 */

const DEFERRED = '2026-12-04T120000-report-rollups-deferred';
const BEFORE = Object.keys(migrations).filter((n) => n < DEFERRED).at(-1)!;
const WRITERS = 4;

/** What a writer may meet while the migration runs beside it; anything else is a defect. */
const EXPECTED = [
  /deadlock detected/,
  /relation "report_pending" does not exist/,
  /could not open relation with OID/,
  /function report_recompute_contacts\(uuid\[\]\) does not exist/,
  /cache lookup failed/,
];

interface Writers {
  committed: string[];
  errors: string[];
  /** Whether a writer's transaction was under way at this instant (performance.now()). */
  inFlightAt(t: number): boolean;
  stop(): Promise<void>;
  /** Resolves once `n` more writes have committed. */
  more(n: number): Promise<void>;
}

function startWriters(db: Kysely<Database>, tag: string): Writers {
  const committed: string[] = [];
  const errors: string[] = [];
  const spans: [number, number][] = [];
  let running = true;
  let waiters: { at: number; go: () => void }[] = [];
  const loop = async (w: number) => {
    for (let i = 0; running; i++) {
      const email = `${tag}-${w}-${i}@example.com`;
      for (let attempt = 0; ; attempt++) {
        const began = performance.now();
        try {
          await db.transaction().execute(async (tx) => {
            const id = (await sql<{ id: string }>`insert into contacts (email) values (${email}) returning id`.execute(tx)).rows[0]!.id;
            await sql`insert into events (id, contact_id, type, occurred_at, data) values (${`ev-${email}`}, ${id}, 'opt_in', now(), ${JSON.stringify({ source: `w${w}` })})`.execute(tx);
            if (i % 2 === 0) {
              await sql`insert into stage_changes (contact_id, kind, from_stage, to_stage, reason, at) values (${id}, 'stage', 'subscriber', 'lead', 'race', now())`.execute(tx);
            }
          });
          committed.push(email);
          waiters = waiters.filter((x) => (committed.length >= x.at ? (x.go(), false) : true));
          break;
        } catch (err) {
          errors.push((err as Error).message);
          if (attempt >= 20) throw err;
        } finally {
          spans.push([began, performance.now()]);
        }
      }
    }
  };
  const loops = Array.from({ length: WRITERS }, (_, w) => loop(w));
  return {
    committed,
    errors,
    inFlightAt: (t) => spans.some(([a, b]) => a <= t && t <= b),
    more: (n) => new Promise<void>((go) => waiters.push({ at: committed.length + n, go })),
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** The rollup as it stands, and as recomputing every contact from its rows gives it. */
async function rollupAgainstRecompute(db: Kysely<Database>, recompute: string) {
  const read = async (q: Kysely<Database>) =>
    (await sql<{ email: string; source: string; reached: number; lead: boolean }>`
      select c.email, r.source, r.reached, r.lead_at is not null as lead from report_contacts r join contacts c on c.id = r.contact_id order by c.email`.execute(q)).rows;
  const now = await read(db);
  let fresh: Awaited<ReturnType<typeof read>> = [];
  await db
    .transaction()
    .execute(async (tx) => {
      await sql`delete from report_contacts`.execute(tx);
      await sql.raw(`select ${recompute}(array(select id from contacts))`).execute(tx);
      fresh = await read(tx);
      throw new RolledBack();
    })
    .catch((err: unknown) => {
      if (!(err instanceof RolledBack)) throw err;
    });
  return { now, fresh };
}

class RolledBack extends Error {}

describe('deferred report rollups: down and up with writers running (PostgreSQL)', () => {
  let backend: Awaited<ReturnType<typeof unmigratedStore>>;
  let db: Kysely<Database>;

  beforeAll(async () => {
    backend = await unmigratedStore('postgres', WRITERS + 2);
    db = backend.db;
    await migrateToLatest(db);
  });
  afterAll(async () => {
    await backend?.close();
  });

  it('loses no write and leaves the rollup exact, going down and coming up again', async () => {
    const writers = startWriters(db, 'race');
    let downAt = 0;
    let upAt = 0;
    try {
      await writers.more(40);
      // Down: names still pending are caught up under the lock, then the old triggers return.
      downAt = performance.now();
      expect((await new Migrator({ db, provider: migrationProvider }).migrateTo(BEFORE)).error).toBeUndefined();
      await writers.more(40);
      upAt = performance.now();
      expect((await migrateToLatest(db)).applied).toEqual([DEFERRED]);
      await writers.more(40);
    } finally {
      await writers.stop();
    }

    // It raced: a writer's transaction was under way as each migration began.
    expect(writers.inFlightAt(downAt)).toBe(true);
    expect(writers.inFlightAt(upAt)).toBe(true);

    // Every write committed once: its contact and its event are there.
    const emails = (await sql<{ email: string }>`select c.email from contacts c join events e on e.contact_id = c.id and e.type = 'opt_in' where c.email like 'race-%' order by 1`.execute(db)).rows.map((r) => r.email);
    expect(emails).toEqual([...writers.committed].sort());
    expect(writers.committed.length).toBeGreaterThanOrEqual(120);

    // What the writers met while the migration ran beside them: only what its down foresees.
    const unexpected = writers.errors.filter((m) => !EXPECTED.some((re) => re.test(m)));
    expect(unexpected).toEqual([]);

    await catchUpReportRollups(db);
    const { now, fresh } = await rollupAgainstRecompute(db, 'report_recompute_contacts');
    expect(now.length).toBe(writers.committed.length);
    expect(now).toEqual(fresh);
  });

  it('tries the migrations again when PostgreSQL aborts them in a deadlock with a writer', async () => {
    expect((await new Migrator({ db, provider: migrationProvider }).migrateTo(BEFORE)).error).toBeUndefined();
    // A writer holding contacts (it inserted one) that then writes the rollup, the way the old
    // triggers do, while the migration holds the rollup and waits for contacts. Its own
    // deadlock_timeout is long, so PostgreSQL's check runs in the migration's session first and
    // aborts the migration.
    const writer = new pg.Client({ connectionString: backend.url });
    await writer.connect();
    try {
      await writer.query('begin');
      await writer.query("set local deadlock_timeout = '20s'");
      await writer.query("insert into contacts (email) values ('deadlock@example.com')");
      const migrating = migrateToLatest(db);
      // The migration waits for the writer's lock on contacts (it drops the rollup's foreign key).
      for (let i = 0; i < 100; i++) {
        const waiting = await writer.query<{ n: number }>("select count(*)::int as n from pg_locks l join pg_class c on c.oid = l.relation where not l.granted and c.relname = 'contacts'");
        if (waiting.rows[0]!.n > 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await writer.query('lock table report_contacts in row exclusive mode');
      await writer.query('commit');
      expect((await migrating).applied).toEqual([DEFERRED]);
    } finally {
      await writer.end();
    }
    expect((await sql<{ t: string | null }>`select to_regclass('report_pending')::text as t`.execute(db)).rows[0]!.t).toBe('report_pending');
  });

  it('says it kept losing the race when it runs out of tries', async () => {
    expect((await new Migrator({ db, provider: migrationProvider }).migrateTo(BEFORE)).error).toBeUndefined();
    const writer = new pg.Client({ connectionString: backend.url });
    await writer.connect();
    try {
      await writer.query('begin');
      await writer.query("set local deadlock_timeout = '20s'");
      await writer.query("insert into contacts (email) values ('deadlock-2@example.com')");
      const migrating = migrateToLatest(db, { tries: 1 }).then(
        () => undefined,
        (err: unknown) => err,
      );
      for (let i = 0; i < 100; i++) {
        const waiting = await writer.query<{ n: number }>("select count(*)::int as n from pg_locks l join pg_class c on c.oid = l.relation where not l.granted and c.relname = 'contacts'");
        if (waiting.rows[0]!.n > 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await writer.query('lock table report_contacts in row exclusive mode');
      await writer.query('commit');
      const err = (await migrating) as Error;
      expect(err?.message).toMatch(/^migration 2026-12-04T120000-report-rollups-deferred failed: deadlock detected \(tried 1 time: other sessions kept deadlocking with it; stop the engine's processes and migrate again\)/);
    } finally {
      await writer.end();
    }
    expect((await migrateToLatest(db)).applied).toEqual([DEFERRED]);
  });
});
