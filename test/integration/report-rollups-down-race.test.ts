import { Migrator, sql } from 'kysely';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { migrationProvider, migrations } from '../../src/db/migrations/index.js';
import { catchUpReportRollups } from '../../src/db/report-rollup-repository.js';
import type { Database } from '../../src/db/schema.js';
import { unmigratedStore } from '../support/unmigrated-store.js';

/**
 * Migration 2026-12-04T120000-report-rollups-deferred, down and up again, while writers keep
 * committing the way the engine writes (a contact, its opt-in, an enrollment and for some a stage
 * change, in one transaction; and for some an event applied to the contact later: locked FOR
 * UPDATE, the event, the contact updated). A rolling restart migrates beside the old release's writers: the
 * migration takes its locks in the writers' order, so they wait for it rather than deadlock, and
 * once both are done the rollup is what recomputing every contact from scratch gives. Then the
 * retry of migrations that do lose a race (a deadlock made on purpose, a lock held past the
 * migrations' lock timeout). PostgreSQL only: PGlite
 * has one session, so nothing races.
 */

const DEFERRED = '2026-12-04T120000-report-rollups-deferred';
const BEFORE = Object.keys(migrations).filter((n) => n < DEFERRED).at(-1)!;
const WRITERS = 4;
/** A writer gives up after this many failed tries, and the test fails saying so. */
const WRITER_TRIES = 20;

/** What a writer may meet while the migration commits beside it; anything else is a defect. */
const EXPECTED = [/relation "report_pending" does not exist/, /could not open relation with OID/, /function report_recompute_contacts\(uuid\[\]\) does not exist/, /cache lookup failed/];

interface Writers {
  committed: string[];
  errors: string[];
  /** Whether a writer's transaction was under way at this instant (performance.now()). */
  inFlightAt(t: number): boolean;
  stop(): Promise<void>;
  /** Resolves once `n` more writes have committed; rejects if a writer gave up. */
  more(n: number): Promise<void>;
}

function startWriters(db: Kysely<Database>, tag: string): Writers {
  const committed: string[] = [];
  const errors: string[] = [];
  const spans: [number, number][] = [];
  let running = true;
  let gaveUp: Error | undefined;
  let waiters: { at: number; go: () => void; fail: (e: Error) => void }[] = [];
  /** Runs one transaction until it commits, as a job is tried again; false once the writers stop. */
  const attempt = async (w: number, write: () => Promise<void>): Promise<void> => {
    for (let n = 1; ; n++) {
      const began = performance.now();
      try {
        await write();
        return;
      } catch (err) {
        errors.push((err as Error).message);
        if (n >= WRITER_TRIES) {
          gaveUp = new Error(`writer ${w} gave up after ${n} tries: ${(err as Error).message}`);
          for (const x of waiters) x.fail(gaveUp);
          waiters = [];
          throw gaveUp;
        }
      } finally {
        spans.push([began, performance.now()]);
      }
    }
  };
  const loop = async (w: number) => {
    for (let i = 0; running; i++) {
      const email = `${tag}-${w}-${i}@example.com`;
      // A new contact, as an opt-in makes one: contacts first, then through the triggers the rollup.
      await attempt(w, () =>
        db.transaction().execute(async (tx) => {
          const id = (await sql<{ id: string }>`insert into contacts (email) values (${email}) returning id`.execute(tx)).rows[0]!.id;
          await sql`insert into events (id, contact_id, type, occurred_at, data) values (${`ev-${email}`}, ${id}, 'opt_in', now(), ${JSON.stringify({ source: `w${w}` })})`.execute(tx);
          await sql`insert into enrollments (contact_id, sequence_id, sequence_version) values (${id}, ${`seq-${i % 3}`}, 'v1')`.execute(tx);
          if (i % 2 === 0) {
            await sql`insert into stage_changes (contact_id, kind, from_stage, to_stage, reason, at) values (${id}, 'stage', 'subscriber', 'lead', 'race', now())`.execute(tx);
          }
        }),
      );
      committed.push(email);
      waiters = waiters.filter((x) => (committed.length >= x.at ? (x.go(), false) : true));
      // An event for a contact there already, as the engine applies one: the contact locked FOR
      // UPDATE (ROW SHARE on the table), the event named for the rollup, then the contact updated.
      if (i % 3 === 2) {
        await attempt(w, () =>
          db.transaction().execute(async (tx) => {
            const id = (await sql<{ id: string }>`select id from contacts where email = ${email} for update`.execute(tx)).rows[0]!.id;
            await sql`insert into events (id, contact_id, type, occurred_at, data) values (${`ask-${email}`}, ${id}, 'appointment_requested', now(), '{}')`.execute(tx);
            await sql`update contacts set updated_at = now() where id = ${id}`.execute(tx);
          }),
        );
      }
    }
  };
  const loops = Array.from({ length: WRITERS }, (_, w) => loop(w));
  for (const l of loops) l.catch(() => undefined); // reported through more() and stop()
  return {
    committed,
    errors,
    inFlightAt: (t) => spans.some(([a, b]) => a <= t && t <= b),
    more: (n) =>
      gaveUp
        ? Promise.reject(gaveUp)
        : new Promise<void>((go, fail) => waiters.push({ at: committed.length + n, go, fail })),
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

class RolledBack extends Error {}

/** The rollup as it stands, and as recomputing every contact from its rows gives it. */
async function rollupAgainstRecompute(db: Kysely<Database>) {
  const read = async (q: Kysely<Database>) =>
    (
      await sql<Record<string, unknown>>`
        select c.email, r.opted_in_at, r.source, r.reached, r.lead_at, r.conversation_at, r.sequences
        from report_contacts r join contacts c on c.id = r.contact_id order by c.email`.execute(q)
    ).rows;
  const now = await read(db);
  let fresh: Awaited<ReturnType<typeof read>> = [];
  await db
    .transaction()
    .execute(async (tx) => {
      await sql`delete from report_contacts`.execute(tx);
      await sql`select report_recompute_contacts(array(select id from contacts))`.execute(tx);
      fresh = await read(tx);
      throw new RolledBack();
    })
    .catch((err: unknown) => {
      if (!(err instanceof RolledBack)) throw err;
    });
  return { now, fresh };
}

/** Waits until another session of this database waits for a lock on one of `tables`; throws if none does within 5 s. */
async function untilWaitingFor(client: pg.Client, ...tables: string[]): Promise<void> {
  for (let i = 0; i < 250; i++) {
    const r = await client.query<{ n: number }>(
      `select count(*)::int as n from pg_locks l join pg_class c on c.oid = l.relation
       where not l.granted and l.database = (select oid from pg_database where datname = current_database()) and c.relname = any($1)`,
      [tables],
    );
    if (r.rows[0]!.n > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no session waited for a lock on ${tables.join(' or ')} within 5 s`);
}

/**
 * A writer that holds the rollup and then asks for contacts, while the migration (which takes
 * contacts, then the rollup) waits for it: a deadlock. The writer's deadlock_timeout is long (a
 * superuser setting: the tests connect as one), so PostgreSQL's check runs in the migration's
 * session first and aborts the migrations, not the writer.
 */
async function deadlockOnce<T>(url: string, migrate: () => Promise<T>): Promise<PromiseSettledResult<T>> {
  const writer = new pg.Client({ connectionString: url });
  await writer.connect();
  try {
    await writer.query('begin');
    await writer.query("set local deadlock_timeout = '20s'");
    await writer.query('lock table report_contacts in row exclusive mode');
    const migrating = migrate().then(
      (value): PromiseSettledResult<T> => ({ status: 'fulfilled', value }),
      (reason: unknown): PromiseSettledResult<T> => ({ status: 'rejected', reason }),
    );
    await untilWaitingFor(writer, 'report_contacts');
    await writer.query("insert into contacts (email) values ('deadlock-' || gen_random_uuid() || '@example.com')");
    await writer.query('commit');
    return await migrating;
  } finally {
    await writer.end();
  }
}

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
      expect((await migrateToLatest(db, { tries: 1 })).applied).toEqual([DEFERRED]);
      await writers.more(40);
    } finally {
      await writers.stop();
    }

    // It raced: a writer's transaction was under way as each migration began.
    expect(writers.inFlightAt(downAt)).toBe(true);
    expect(writers.inFlightAt(upAt)).toBe(true);

    // Each write committed once, and the writers met only what a migration committing beside them may cause.
    const emails = (await sql<{ email: string }>`select c.email from contacts c join events e on e.contact_id = c.id and e.type = 'opt_in' where c.email like 'race-%' order by 1`.execute(db)).rows.map((r) => r.email);
    expect(emails).toEqual([...writers.committed].sort());
    expect(writers.errors.filter((m) => !EXPECTED.some((re) => re.test(m)))).toEqual([]);

    await catchUpReportRollups(db);
    const { now, fresh } = await rollupAgainstRecompute(db);
    expect(now.length).toBe(writers.committed.length);
    expect(now).toEqual(fresh);
  });

  it('tries the migrations again when PostgreSQL aborts them in a deadlock with a writer', async () => {
    expect((await new Migrator({ db, provider: migrationProvider }).migrateTo(BEFORE)).error).toBeUndefined();
    const told: [string, number, number][] = [];
    const r = await deadlockOnce(backend.url!, () => migrateToLatest(db, { onRetry: (reason, attempt, delayMs) => told.push([reason, attempt, delayMs]) }));
    expect(r).toEqual({ status: 'fulfilled', value: { applied: [DEFERRED] } });
    // The retry was heard of (the engine logs it), with PostgreSQL's reason.
    expect(told).toEqual([['deadlock detected', 1, 200]]);
    expect((await sql<{ t: string | null }>`select to_regclass('report_pending')::text as t`.execute(db)).rows[0]!.t).toBe('report_pending');
  });

  it('says it kept losing the race when it runs out of tries, and applies afterwards', async () => {
    expect((await new Migrator({ db, provider: migrationProvider }).migrateTo(BEFORE)).error).toBeUndefined();
    const r = await deadlockOnce(backend.url!, () => migrateToLatest(db, { tries: 1 }));
    expect(r.status).toBe('rejected');
    expect(((r as PromiseRejectedResult).reason as Error).message).toBe(
      `migration ${DEFERRED} failed: deadlock detected (tried once: PostgreSQL aborted it in a deadlock or serialization failure with other sessions each time; stop the engine's processes and migrate again)`,
    );
    expect((await migrateToLatest(db)).applied).toEqual([DEFERRED]);
  });

  it('steps aside for a long transaction, so a writer queued behind it goes on, and its last try waits as long as it takes', async () => {
    expect((await new Migrator({ db, provider: migrationProvider }).migrateTo(BEFORE)).error).toBeUndefined();
    const blocker = new pg.Client({ connectionString: backend.url });
    const writer = new pg.Client({ connectionString: backend.url });
    await blocker.connect();
    await writer.connect();
    try {
      // A long transaction that read contacts: the migration's access exclusive lock must wait for it.
      await blocker.query('begin');
      await blocker.query('select count(*) from contacts');
      const told: [string, number][] = [];
      let settled = false;
      const migrating = migrateToLatest(db, { lockTimeoutMs: 300, tries: 2, onRetry: (reason, attempt) => told.push([reason, attempt]) }).finally(() => (settled = true));
      await untilWaitingFor(blocker, 'contacts');
      // A writer that comes now queues behind the waiting migration, and goes on once its try gives up.
      await writer.query('insert into contacts (email) values ($1)', [`behind-${Date.now()}@example.com`]);
      // The second and last try waits without a limit, well past the 300 ms, for the long transaction.
      await untilWaitingFor(blocker, 'contacts');
      expect(told).toEqual([['canceling statement due to lock timeout', 1]]);
      await new Promise((resolve) => setTimeout(resolve, 900));
      expect(settled).toBe(false);
      await blocker.query('commit');
      expect(await migrating).toEqual({ applied: [DEFERRED] });
    } finally {
      await blocker.end();
      await writer.end();
    }
  });

  it('does not retry a lock timeout before any migration ran, and says what it may be', async () => {
    const fresh = await unmigratedStore('postgres', 1);
    const blocker = new pg.Client({ connectionString: fresh.url });
    await blocker.connect();
    try {
      await migrateToLatest(fresh.db);
      expect((await new Migrator({ db: fresh.db, provider: migrationProvider }).migrateTo(BEFORE)).error).toBeUndefined();
      // A lock_timeout the DBA set on the database; new sessions have it.
      const name = new URL(fresh.url!).pathname.slice(1);
      await blocker.query(`alter database ${name} set lock_timeout = '200ms'`);
      await blocker.query('begin');
      await blocker.query('lock table kysely_migration in access exclusive mode');
      const store = await openStore({ databaseUrl: fresh.url!, dataDir: '/tmp/nurture-unused', poolSize: 1, migrate: false });
      const told: string[] = [];
      try {
        const r = await migrateToLatest(store.db, { onRetry: (reason) => told.push(reason) }).then(
          () => 'applied',
          (err: unknown) => (err as Error).message,
        );
        expect(r).toMatch(/^migrations could not start \(reading the migration table or taking the migration lock\): canceling statement due to lock timeout \(a lock timeout before any migration ran: /);
        expect(told).toEqual([]);
      } finally {
        await store.close();
      }
      await blocker.query('rollback');
      await blocker.query(`alter database ${name} reset lock_timeout`);
    } finally {
      await blocker.end();
      await fresh.close();
    }
  });

  it('leaves no lock timeout behind on the connection it migrated over', async () => {
    const one = await unmigratedStore('postgres', 1);
    try {
      await migrateToLatest(one.db, { lockTimeoutMs: 150 });
      expect((await sql<{ lock_timeout: string }>`show lock_timeout`.execute(one.db)).rows[0]!.lock_timeout).toBe('0');
    } finally {
      await one.close();
    }
  });

  it('goes down beside a writer that locked its contact FOR UPDATE, named it, and then updates it', async () => {
    const email = `for-update-${Date.now()}@example.com`;
    await sql`insert into contacts (email) values (${email})`.execute(db);
    const writer = new pg.Client({ connectionString: backend.url });
    await writer.connect();
    try {
      await writer.query('begin');
      const id = (await writer.query<{ id: string }>('select id from contacts where email = $1 for update', [email])).rows[0]!.id;
      await writer.query("insert into events (id, contact_id, type, occurred_at, data) values ($1, $2, 'appointment_requested', now(), '{}')", [`ask-${email}`, id]);
      const down = new Migrator({ db, provider: migrationProvider }).migrateTo(BEFORE);
      // The down waits for the writer (on contacts; with a weaker lock it got contacts and waited on report_pending).
      await untilWaitingFor(writer, 'contacts', 'report_pending');
      await writer.query('update contacts set updated_at = now() where id = $1', [id]);
      await writer.query('commit');
      expect((await down).error).toBeUndefined();
    } finally {
      await writer.end();
    }
    expect((await migrateToLatest(db)).applied).toEqual([DEFERRED]);
  });
});
