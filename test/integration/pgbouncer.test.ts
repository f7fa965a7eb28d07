import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateStore } from '../../src/app/migrate-store.js';
import { runDoctor } from '../../src/app/doctor.js';
import type { Config } from '../../src/config.js';
import { openStore } from '../../src/db/database.js';
import { migrationProvider } from '../../src/db/migrations/index.js';
import { ConfigError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { EVENT_JOB, eventJobId } from '../../src/workers/queues.js';
import type { RunningEngine } from '../../src/workers/runtime.js';
import { startEngine } from '../../src/workers/runtime.js';
import { createTestDatabase } from '../support/databases.js';
import { eventually, testConfig, writeTemplates } from '../support/engine.js';
import type { TestPgbouncer } from '../support/pgbouncer.js';
import { pgbouncerBinary, startTestPgbouncer } from '../support/pgbouncer.js';
import { programFromYaml } from '../support/programs.js';
import { REDIS_TEST_URL } from '../support/services.js';
import type { TestSmtp } from '../support/smtp.js';
import { startTestSmtp } from '../support/smtp.js';

/**
 * Nurture behind a real pgbouncer (Debian's, started for this file on a free port) in front of a
 * database of this file's own. The pool in transaction mode carries the engine's work; the
 * migrations, which hold a session-level advisory lock, go over DATABASE_DIRECT_URL. Without it,
 * the store refuses to migrate through the pool. Not skipped when pgbouncer is missing: it fails
 * saying how to install it.
 */
const SEQ = `
id: pooled
trigger: { event: opt_in }
steps:
  - email: welcome
  - wait: 2 seconds
  - email: guide
`;
const POOLS = { nurture_tx: 'transaction', nurture_session: 'session', nurture_statement: 'statement' } as const;
/** Kysely's migration lock, pg_advisory_lock(3853314791062309107): its two halves in pg_locks. */
const MIGRATION_LOCK = { classid: 897169763, objid: 17238259 };
const dataDir = path.join(tmpdir(), 'nurture-unused');

describe('behind pgbouncer in transaction mode', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let bouncer: TestPgbouncer;
  /** Straight to the test database: what the tests look at, never through the pool. */
  let direct: pg.Pool;
  let smtp: TestSmtp;
  let templatesDir: string;
  let config: Config;
  let engine: RunningEngine | undefined;

  beforeAll(async () => {
    pgbouncerBinary(); // fails with how to install it
    database = await createTestDatabase();
    bouncer = await startTestPgbouncer({ databaseUrl: database.url, pools: POOLS });
    direct = new pg.Pool({ connectionString: database.url, max: 2 });
    smtp = await startTestSmtp();
    templatesDir = await writeTemplates();
    config = testConfig({
      DATABASE_URL: bouncer.url('nurture_tx'),
      DATABASE_DIRECT_URL: database.url,
      SMTP_URL: smtp.url,
      // The 2-second wait is beyond the horizon: only a sweep can offer it.
      NURTURE_SCHEDULE_HORIZON_MS: '1000',
      NURTURE_DB_POOL: '5',
    });
  }, 60_000);

  afterAll(async () => {
    await engine?.stop();
    await smtp?.close();
    await direct?.end();
    if (templatesDir) await rm(templatesDir, { recursive: true, force: true });
    if (config) await rm(config.dataDir, { recursive: true, force: true });
    try {
      // Every client the engine opened through the pool is closed (SHOW CLIENTS lists this console's own too).
      if (bouncer) {
        const clients = (await bouncer.show('CLIENTS')).filter((c) => c.database !== 'pgbouncer');
        expect(clients).toEqual([]);
      }
    } finally {
      await bouncer?.stop();
      await database?.drop({ checkLeaks: true });
    }
  });

  const migrationLocks = async () =>
    (
      await direct.query<{ pid: number }>(
        "select pid from pg_locks where locktype = 'advisory' and classid = $1 and objid = $2 and database = (select oid from pg_database where datname = current_database())",
        [MIGRATION_LOCK.classid, MIGRATION_LOCK.objid],
      )
    ).rows;
  const migrationTable = async () => (await direct.query<{ t: string | null }>("select to_regclass('kysely_migration')::text as t")).rows[0]!.t;

  it('loses a session-level advisory lock between pooled servers: the reason migrations need a session', async () => {
    const connect = async () => {
      const c = new pg.Client({ connectionString: bouncer.url('nurture_tx') });
      await c.connect();
      return c;
    };
    const [a, b] = [await connect(), await connect()];
    try {
      // b's lock is taken on the server it had for that statement, which then goes back to the pool;
      await b.query('select pg_advisory_lock(4242)');
      // a's transaction is handed that very server (pgbouncer reuses the server freed last),
      await a.query('begin');
      // so b's unlock runs on another one, which holds no such lock.
      const unlock = await b.query<{ ok: boolean }>('select pg_advisory_unlock(4242) as ok');
      await a.query('commit');
      expect(unlock.rows[0]!.ok).toBe(false);
      const held = await direct.query<{ pid: number }>("select pid from pg_locks where locktype = 'advisory' and objid = 4242");
      expect(held.rows).toHaveLength(1);
      // Released only with its server: end it, and wait until pgbouncer has dropped it from the pool.
      const pid = held.rows[0]!.pid;
      await direct.query('select pg_terminate_backend($1)', [pid]);
      await eventually(async () => !(await bouncer.show('SERVERS')).some((s) => Number(s.remote_pid) === pid), 'pgbouncer to drop the ended server');
    } finally {
      await a.end();
      await b.end();
    }
  });

  it('refuses to migrate through the transaction pool without DATABASE_DIRECT_URL, before any migration ran', async () => {
    const error = await openStore({ databaseUrl: bouncer.url('nurture_tx'), dataDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/^DATABASE_URL \(127\.0\.0\.1:\d+\/nurture_tx\) goes through a pooler in transaction mode/);
    expect((error as Error).message).toContain('set DATABASE_DIRECT_URL to the same database on PostgreSQL itself (or a session-mode pool), and keep DATABASE_URL on the pooler');
    // Checked before Kysely's Migrator ran: no migration table, no lock left on a pooled server.
    expect(await migrationTable()).toBeNull();
    expect(await migrationLocks()).toEqual([]);
  });

  it('refuses a DATABASE_DIRECT_URL that is the pooler too, or another database', async () => {
    const pooled = await openStore({ databaseUrl: bouncer.url('nurture_tx'), directUrl: bouncer.url('nurture_tx'), dataDir }).catch((e: unknown) => e);
    expect(pooled).toBeInstanceOf(ConfigError);
    expect((pooled as Error).message).toMatch(/^DATABASE_DIRECT_URL \(127\.0\.0\.1:\d+\/nurture_tx\) goes through a pooler in transaction mode/);
    expect((pooled as Error).message).toContain('point DATABASE_DIRECT_URL at PostgreSQL itself (or a session-mode pool), not at the pooler');

    const other = await createTestDatabase();
    try {
      const elsewhere = await openStore({ databaseUrl: bouncer.url('nurture_tx'), directUrl: other.url, dataDir }).catch((e: unknown) => e);
      expect(elsewhere).toBeInstanceOf(ConfigError);
      expect((elsewhere as Error).message).toContain('DATABASE_URL and DATABASE_DIRECT_URL reach different databases');
    } finally {
      await other.drop({ checkLeaks: true });
    }
    expect(await migrationTable()).toBeNull();
  });

  it('refuses a statement-mode pool, saying it refuses the transactions Nurture runs', async () => {
    const error = await openStore({ databaseUrl: bouncer.url('nurture_statement'), dataDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/^DATABASE_URL \(127\.0\.0\.1:\d+\/nurture_statement\) is a pool in statement mode, which refuses transactions \(.*transaction blocks not allowed in statement pooling mode\)/);
    expect((error as Error).message).toContain('use pool_mode=transaction (with DATABASE_DIRECT_URL for migrations) or pool_mode=session');
  });

  it('starts the engine through the pool, the migrations applied over DATABASE_DIRECT_URL and no lock left', async () => {
    const before = await poolStats(bouncer, 'nurture_tx');
    engine = await startEngine({
      config,
      templatesDir,
      publish: [{ file: 'pooled.yaml', program: programFromYaml(SEQ) }],
      sweeper: true,
      mayLaunchRedis: false,
      serveEmbedded: false,
      log: createLogger(config.logLevel),
    });
    expect(engine.store.describe).toMatch(/^postgres 127\.0\.0\.1:\d+\/nurture_tx, migrations over DATABASE_DIRECT_URL 127\.0\.0\.1:5432\/nurture_t_[0-9a-f]+$/);
    const applied = (await direct.query<{ name: string }>('select name from kysely_migration order by name')).rows.map((r) => r.name);
    expect(applied).toEqual(Object.keys(await migrationProvider.getMigrations()).sort());
    expect(await migrationLocks()).toEqual([]);
    // The engine's own work (publishing the sequence, sweeps) goes through the pool.
    expect((await poolStats(bouncer, 'nurture_tx')).transactions).toBeGreaterThan(before.transactions);
    // `nurture migrate` beside the running engine: nothing left to apply, and it says where migrations go.
    expect(await migrateStore(config)).toEqual({ applied: [], store: engine.store.describe });
  });

  it('opens an up-to-date store through the transaction pool without DATABASE_DIRECT_URL: nothing to migrate, so nothing refused and no lock taken', async () => {
    const store = await openStore({ databaseUrl: bouncer.url('nurture_tx'), dataDir, poolSize: 2 });
    try {
      expect(await store.db.selectFrom('sequences').select('id').execute()).toEqual([{ id: 'pooled' }]);
    } finally {
      await store.close();
    }
    expect(await migrationLocks()).toEqual([]);
  });

  it('runs an opt-in through the pool: enrollment, welcome email, a wake-up offered by the sweeper, and a duplicate applied once', async () => {
    const before = await poolStats(bouncer, 'nurture_tx');
    const email = 'pooled@example.com';
    const event = { id: 'pooled-1', type: 'opt_in', occurredAt: new Date().toISOString(), contact: { email, firstName: 'Pia' } };
    await engine!.queues.events.add(EVENT_JOB, event, { jobId: eventJobId('pooled-1') });
    // The same event again, as a producer retrying would send it (another job, the same event id).
    await engine!.queues.events.add(EVENT_JOB, event, { jobId: eventJobId('pooled-1-again') });

    const mailsTo = () => smtp.received.filter((m) => m.to === email).map((m) => m.subject);
    await eventually(async () => mailsTo().length >= 2, 'the welcome and the guide');
    expect(mailsTo()).toEqual(['Welcome Pia', 'Your guide']);

    await eventually(async () => {
      const jobs = await engine!.queues.events.getJobCounts('waiting', 'active', 'delayed');
      return (jobs.waiting ?? 0) + (jobs.active ?? 0) + (jobs.delayed ?? 0) === 0;
    }, 'both event jobs done');
    const rows = async (q: string) => (await direct.query(q, [email])).rows;
    expect(await rows('select e.status from enrollments e join contacts c on c.id = e.contact_id where c.email = $1')).toHaveLength(1);
    expect(await rows('select v.id from events v join contacts c on c.id = v.contact_id where c.email = $1')).toEqual([{ id: 'pooled-1' }]);
    const touches = await eventually(async () => {
      const t = await rows("select t.step_id, t.status from touches t join contacts c on c.id = t.contact_id where c.email = $1 order by t.created_at");
      return t.every((x) => x.status === 'sent') && t.length === 2 ? t : undefined;
    }, 'both touches marked sent');
    expect(touches).toEqual([{ step_id: 'welcome', status: 'sent' }, { step_id: 'guide', status: 'sent' }]);
    expect(mailsTo()).toHaveLength(2);

    const { body } = await engine!.metrics.render();
    expect(Number(/^nurture_sweep_offered_total\{kind="wake"\} (\d+)/m.exec(body)?.[1] ?? 0)).toBeGreaterThanOrEqual(1);
    // All of it through the transaction pool: many transactions, on servers shared between clients.
    expect((await poolStats(bouncer, 'nurture_tx')).transactions - before.transactions).toBeGreaterThan(10);
  }, 60_000);

  it('nurture doctor says where migrations go, and what to set when the pool refuses them', async () => {
    const env = { DATABASE_URL: bouncer.url('nurture_tx'), DATABASE_DIRECT_URL: database.url, REDIS_URL: REDIS_TEST_URL, SMTP_URL: smtp.url, NURTURE_DATA_DIR: config.dataDir };
    const project = { sequencesDir: templatesDir, templatesDir };
    const databaseCheck = async (e: Record<string, string>) => (await runDoctor({ env: e, ...project })).checks.find((c) => c.name === 'database')!;
    const ok = await databaseCheck(env);
    expect(ok).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^postgres 127\.0\.0\.1:\d+\/nurture_tx, migrations over DATABASE_DIRECT_URL 127\.0\.0\.1:5432\/nurture_t_[0-9a-f]+ answers/) });
    const refused = await databaseCheck({ ...env, DATABASE_DIRECT_URL: '' });
    expect(refused).toMatchObject({ status: 'fail', detail: expect.stringContaining('goes through a pooler in transaction mode'), fix: expect.stringContaining('DATABASE_DIRECT_URL') });
  });

  it('needs no DATABASE_DIRECT_URL behind a session-mode pool (no false alarm)', async () => {
    const store = await openStore({ databaseUrl: bouncer.url('nurture_session'), dataDir, poolSize: 2 });
    try {
      expect(store.describe).toMatch(/^postgres 127\.0\.0\.1:\d+\/nurture_session$/);
      expect(await store.db.selectFrom('sequences').select('id').execute()).toEqual([{ id: 'pooled' }]);
    } finally {
      await store.close();
    }
    expect(await migrationLocks()).toEqual([]);
  });
});

/** Transactions pgbouncer has carried for one of its pools (SHOW STATS). */
async function poolStats(bouncer: TestPgbouncer, alias: string): Promise<{ transactions: number }> {
  const row = (await bouncer.show('STATS')).find((r) => r.database === alias);
  return { transactions: Number(row?.total_xact_count ?? 0) };
}
