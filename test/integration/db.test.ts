import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/db/database.js';
import type { Store } from '../../src/db/database.js';
import { EMBEDDED_INFO_FILE, embeddedSocketPath, readEmbeddedInfo, startEmbeddedServer } from '../../src/db/embedded-server.js';
import type { EmbeddedServer } from '../../src/db/embedded-server.js';
import { migrateToLatest, pendingMigrations } from '../../src/db/migrate.js';
import { migrations } from '../../src/db/migrations/index.js';
import type { Database } from '../../src/db/schema.js';
import { ServiceUnavailableError } from '../../src/errors.js';
import { createTestStore, TEST_DATABASE_URL } from '../support/postgres.js';
import type { TestStore } from '../support/postgres.js';

/**
 * The store on both backends: the migration matches schema.ts, both return the same JS types,
 * constraints hold, PGlite serialises concurrent transactions; and the embedded store on disk:
 * its lock file, and its socket server shared with the engine's own Kysely.
 */

/** Every column of schema.ts with its Postgres type; `?` = nullable. Typed so a column added there fails here. */
const COLUMNS: { [T in keyof Database]: Record<keyof Database[T] & string, string> } = {
  contacts: {
    id: 'uuid', email: 'text', first_name: 'text?', last_name: 'text?', phone: 'text?', timezone: 'text?',
    address: 'jsonb?', attributes: 'jsonb', tags: 'jsonb', score: 'int4', status: 'text',
    opted_in_at: 'timestamptz?', promoted_at: 'timestamptz?', promotion_reason: 'text?',
    unsubscribed_at: 'timestamptz?', bounced_at: 'timestamptz?', created_at: 'timestamptz', updated_at: 'timestamptz',
    paused_at: 'timestamptz?', fit_score: 'float8', engagement_score: 'float8', score_at: 'timestamptz?',
    owner: 'text?', address_bad_at: 'timestamptz?', phone_bad_at: 'timestamptz?',
  },
  events: {
    id: 'text', contact_id: 'uuid', type: 'text', occurred_at: 'timestamptz', received_at: 'timestamptz',
    data: 'jsonb', touch_id: 'uuid?', seq: 'int8', body_hash: 'text?', contact: 'jsonb?', occurred_at_defaulted: 'bool',
  },
  failed_events: {
    id: 'int4', event_id: 'text?', job_id: 'text?', field: 'text', reason: 'text', payload: 'text', received_at: 'timestamptz',
  },
  sequence_versions: { sequence_id: 'text', version: 'text', definition: 'jsonb', source_file: 'text', loaded_at: 'timestamptz', templates: 'jsonb?' },
  sequences: { id: 'text', active_version: 'text', updated_at: 'timestamptz', status: 'text' },
  sequences_revision: { id: 'int4', revision: 'int8' },
  enrollments: {
    id: 'uuid', contact_id: 'uuid', sequence_id: 'text', sequence_version: 'text', status: 'text', exit_reason: 'text?',
    state: 'jsonb', step_id: 'text?', next_wake_at: 'timestamptz?', wake_version: 'int4', failures: 'int4', last_error: 'text?',
    quarantined_at: 'timestamptz?', enrolled_at: 'timestamptz', ended_at: 'timestamptz?', updated_at: 'timestamptz',
    held_at: 'timestamptz?', held_wake_at: 'timestamptz?',
  },
  touches: {
    id: 'uuid', key: 'text', enrollment_id: 'uuid?', contact_id: 'uuid', sequence_id: 'text?', step_id: 'text',
    kind: 'text', template: 'text?', status: 'text', attempts: 'int4', in_doubt: 'bool', message_id: 'text?',
    subject: 'text?', error: 'text?', due_at: 'timestamptz', sent_at: 'timestamptz?', failed_at: 'timestamptz?', created_at: 'timestamptz',
    last_clicked_at: 'timestamptz?',
  },
  tasks: {
    id: 'int4', touch_id: 'uuid?', contact_id: 'uuid', enrollment_id: 'uuid?', kind: 'text', priority: 'text',
    status: 'text', title: 'text', note: 'text?', content: 'jsonb?', address: 'jsonb?', phone: 'text?',
    history: 'jsonb', due_at: 'timestamptz', created_at: 'timestamptz', completed_at: 'timestamptz?', outcome: 'text?',
    assignee: 'text?', team: 'text?', assignment_reason: 'text?', assigned_at: 'timestamptz?', claimed_at: 'timestamptz?',
    snoozed_until: 'timestamptz?', sla_due_at: 'timestamptz?', breached_at: 'timestamptz?', first_attempt_at: 'timestamptz?',
    first_connected_at: 'timestamptz?',
  },
  stage_changes: {
    id: 'int8', contact_id: 'uuid', kind: 'text', from_stage: 'text', to_stage: 'text', reason: 'text', event_id: 'text?', at: 'timestamptz',
  },
  service_health: { name: 'text', state: 'text', detail: 'text', since: 'timestamptz', checked_at: 'timestamptz' },
  suppressions: { address_hash: 'text', reason: 'text', email: 'text?', source: 'text', detail: 'text?', created_at: 'timestamptz' },
  consent_records: {
    id: 'int8', contact_id: 'uuid?', address_hash: 'text', kind: 'text', at: 'timestamptz', source: 'text', form_id: 'text?', form_version: 'text?',
    ip: 'text?', user_agent: 'text?', wording: 'text?', wording_hash: 'text?', event_id: 'text?', detail: 'jsonb',
  },
  topic_opt_outs: { contact_id: 'uuid', topic: 'text', source: 'text', at: 'timestamptz' },
  pending_opt_ins: {
    id: 'uuid', contact_id: 'uuid', form_id: 'text', form_version: 'text', contact: 'jsonb', data: 'jsonb', ip: 'text?', user_agent: 'text?', wording: 'text',
    wording_hash: 'text', status: 'text', touch_id: 'uuid?', created_at: 'timestamptz', expires_at: 'timestamptz', confirmed_at: 'timestamptz?',
    expired_at: 'timestamptz?',
  },
  event_intake: { id: 'text', payload: 'jsonb', source: 'text', received_at: 'timestamptz', offered_at: 'timestamptz?' },
  webhook_receipts: { id: 'text', events: 'int4', received_at: 'timestamptz' },
  event_ids: { id: 'text', received_at: 'timestamptz' },
  touch_keys: { key: 'text' },
  report_contacts: {
    contact_id: 'uuid', opted_in_at: 'timestamptz', source: 'text', reached: 'int2', lead_at: 'timestamptz?', conversation_at: 'timestamptz?', sequences: '_text',
  },
  report_pending: { seq: 'int8', contact_id: 'uuid' },
  report_touch_engagement: { touch_id: 'uuid', opened_at: 'timestamptz?', clicked_at: 'timestamptz?' },
  task_activity: { id: 'int8', task_id: 'int4', at: 'timestamptz', actor: 'text', action: 'text', reason: 'text?', detail: 'jsonb' },
  task_timers: {
    id: 'int8', task_id: 'int4', step: 'int4', action: 'text', due_at: 'timestamptz', status: 'text', fired_at: 'timestamptz?', detail: 'jsonb',
  },
  team_cursors: { team: 'text', last_assignee: 'text', at: 'timestamptz' },
  staff_accounts: { email: 'text', password_hash: 'text', created_at: 'timestamptz', updated_at: 'timestamptz', disabled_at: 'timestamptz?' },
  staff_sessions: {
    token_hash: 'text', email: 'text', csrf_token: 'text', created_at: 'timestamptz', last_seen_at: 'timestamptz', expires_at: 'timestamptz',
  },
  mail_runs: {
    id: 'text', kind: 'text', due_date: 'text', task_ids: 'jsonb', files: 'jsonb', created_at: 'timestamptz', created_by: 'text',
    confirmed_at: 'timestamptz?', confirmed_by: 'text?',
  },
  staff_digests: { email: 'text', local_date: 'text', sent_at: 'timestamptz', tasks: 'int4' },
};

/** Every migration, in order: a fresh store applies all of them. */
const ALL = ['2026-11-23T000000-initial', '2026-11-23T060000-notice-tasks', '2026-12-01T100000-event-body', '2026-12-01T110000-service-health', '2026-12-01T120000-quarantine', '2026-12-01T130000-sequences-revision', '2026-12-01T140000-manual-control', '2026-12-01T150000-stage-changes', '2026-12-02T090000-suppression-consent', '2026-12-02T100000-event-intake', '2026-12-02T110000-pending-opt-ins', '2026-12-02T120000-topic-opt-outs', '2026-12-02T140000-touch-clicks', '2026-12-02T150000-scores', '2026-12-02T160000-report-indexes', '2026-12-02T160500-report-rollups', '2026-12-03T090000-staff-work', '2026-12-03T130000-sweep-indexes', '2026-12-03T140000-event-partitions', '2026-12-03T160000-event-partition-move', '2026-12-04T090000-touch-partitions', '2026-12-04T120000-report-rollups-deferred'];

async function currentSchema(db: Kysely<Database>): Promise<string> {
  const { rows } = await sql<{ s: string }>`select current_schema() as s`.execute(db);
  return rows[0]!.s;
}

async function insertContact(db: Kysely<Database>, email: string) {
  return db
    .insertInto('contacts')
    .values({ email, attributes: JSON.stringify({ plan: 'pro', n: 2 }), tags: JSON.stringify(['a', 'b']) })
    .returningAll()
    .executeTakeFirstOrThrow();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(['postgres', 'pglite'] as const)('store on %s', (kind) => {
  let store: TestStore;

  beforeAll(async () => {
    store = await createTestStore(kind);
  });
  afterAll(async () => {
    await store?.cleanup();
  });

  it('has the tables and columns of schema.ts, with their types and nullability', async () => {
    const schema = await currentSchema(store.db);
    // The monthly partitions of events and touches (and their default ones) are those tables, not tables of schema.ts.
    const tables = (await store.db.introspection.getTables()).filter((t) => t.schema === schema && !/^(events|touches)_(y\d{4}m\d{2}|default)$/.test(t.name));
    const actual = Object.fromEntries(
      tables.map((t) => [
        t.name,
        Object.fromEntries(t.columns.map((c) => [c.name, `${c.dataType}${c.isNullable ? '?' : ''}`])),
      ]),
    );
    expect(actual).toEqual(COLUMNS);
  });

  it('is migrated, and migrating again applies nothing', async () => {
    const schema = await currentSchema(store.db);
    const again = await migrateToLatest(store.db, kind === 'postgres' ? { schema } : {});
    expect(again).toEqual({ applied: [] });
    // What a process reads at start to skip the Migrator: nothing pending here, everything in a schema never migrated.
    expect(await pendingMigrations(store.db, kind === 'postgres' ? { schema } : {})).toEqual([]);
    if (kind === 'postgres') expect(await pendingMigrations(store.db, { schema: 'never_migrated' })).toEqual(Object.keys(migrations));
  });

  it('returns the same JS types: uuid string, Date, parsed jsonb, serial number, bigserial string', async () => {
    const contact = await insertContact(store.db, `types-${kind}@example.com`);
    expect(contact.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(contact.created_at).toBeInstanceOf(Date);
    expect(contact.attributes).toEqual({ plan: 'pro', n: 2 });
    expect(contact.tags).toEqual(['a', 'b']);
    expect(contact).toMatchObject({ score: 0, status: 'subscriber', address: null, opted_in_at: null });

    const occurred = new Date('2026-11-23T10:15:30.123Z');
    const first = await store.db
      .insertInto('events')
      .values({ id: `e1-${kind}`, contact_id: contact.id, type: 'opt_in', occurred_at: occurred, data: '{"source":"web"}' })
      .returningAll()
      .executeTakeFirstOrThrow();
    const second = await store.db
      .insertInto('events')
      .values({ id: `e2-${kind}`, contact_id: contact.id, type: 'opened', occurred_at: '2026-11-23T11:00:00+01:00', data: '{}' })
      .returning(['seq', 'occurred_at'])
      .executeTakeFirstOrThrow();
    expect(first.occurred_at).toEqual(occurred);
    expect(first.data).toEqual({ source: 'web' });
    expect(typeof first.seq).toBe('string');
    expect(BigInt(second.seq)).toBeGreaterThan(BigInt(first.seq));
    expect(second.occurred_at).toEqual(new Date('2026-11-23T10:00:00Z'));

    const failed = await store.db
      .insertInto('failed_events')
      .values({ field: 'contact.email', reason: 'not an email', payload: '{}' })
      .returning('id')
      .executeTakeFirstOrThrow();
    expect(typeof failed.id).toBe('number');

    const task = await store.db
      .insertInto('tasks')
      .values({
        contact_id: contact.id, kind: 'call', priority: 'high', status: 'open', title: 'Call',
        content: null, address: JSON.stringify({ city: 'Lyon' }), history: JSON.stringify([{ type: 'opened' }]),
        due_at: occurred,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    expect(task).toMatchObject({ id: expect.any(Number), content: null, address: { city: 'Lyon' }, history: [{ type: 'opened' }] });

    const counted = await store.db
      .selectFrom('events')
      .select((eb) => [eb.fn.countAll().as('n'), eb.fn.max('occurred_at').as('latest')])
      .where('contact_id', '=', contact.id)
      .executeTakeFirstOrThrow();
    expect(counted).toEqual({ n: '2', latest: occurred }); // count(*) is int8: a string, as pg gives it

    const updated = await store.db.updateTable('contacts').set({ score: 5 }).where('id', '=', contact.id).executeTakeFirst();
    expect(updated.numUpdatedRows).toBe(1n);
  });

  it('skips a second touch with the same key (a step never runs twice), whatever the statement says', async () => {
    const contact = await insertContact(store.db, `dup-${kind}@example.com`);
    const touch = {
      key: `enr-1/${kind}/welcome`, contact_id: contact.id, step_id: 'welcome', kind: 'email' as const,
      status: 'pending' as const, due_at: new Date(),
    };
    const inserted = await store.db.insertInto('touches').values(touch).returningAll().executeTakeFirstOrThrow();
    expect(inserted).toMatchObject({ attempts: 0, in_doubt: false, enrollment_id: null });
    // The key is claimed in touch_keys by the insert trigger (touches is partitioned by month, so no unique key on it alone).
    expect(await store.db.insertInto('touches').values(touch).returning('id').execute()).toEqual([]);
    expect(await store.db.insertInto('touches').values([touch, { ...touch, key: `${touch.key}/2` }]).returning('key').execute()).toEqual([{ key: `${touch.key}/2` }]);
    const stored = await store.db.selectFrom('touches').select('id').where('key', '=', touch.key).execute();
    expect(stored).toEqual([{ id: inserted.id }]);
  });

  it('rejects values outside the enum-like columns', async () => {
    const contact = await insertContact(store.db, `check-${kind}@example.com`);
    await expect(
      store.db
        .insertInto('touches')
        .values({ key: `k-${kind}`, contact_id: contact.id, step_id: 's', kind: 'fax' as never, status: 'pending', due_at: new Date() })
        .execute(),
    ).rejects.toMatchObject({ code: '23514', constraint: 'touches_kind_check' });
    await expect(
      store.db.updateTable('contacts').set({ status: 'vip' as never }).where('id', '=', contact.id).execute(),
    ).rejects.toMatchObject({ code: '23514' });
  });

  it('serialises 20 concurrent read-modify-write transactions', async () => {
    const contact = await insertContact(store.db, `counter-${kind}@example.com`);
    await Promise.all(
      Array.from({ length: 20 }, () =>
        store.db.transaction().execute(async (trx) => {
          // On PGlite the driver serialises whole transactions; on Postgres it takes a row lock.
          let read = trx.selectFrom('contacts').select('score').where('id', '=', contact.id);
          if (kind === 'postgres') read = read.forUpdate();
          const { score } = await read.executeTakeFirstOrThrow();
          await sleep(1); // give other jobs every chance to interleave
          await trx.updateTable('contacts').set({ score: score + 1 }).where('id', '=', contact.id).execute();
        }),
      ),
    );
    const { score } = await store.db.selectFrom('contacts').select('score').where('id', '=', contact.id).executeTakeFirstOrThrow();
    expect(score).toBe(20);
  });

  it('rolls a failed transaction back and stays usable', async () => {
    const email = `rollback-${kind}@example.com`;
    await expect(
      store.db.transaction().execute(async (trx) => {
        await insertContact(trx, email);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await store.db.selectFrom('contacts').select('id').where('email', '=', email).execute()).toEqual([]);
    await expect(
      store.db.transaction().execute(async (trx) => {
        await insertContact(trx, email);
        await insertContact(trx, email); // unique violation inside the transaction
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await store.db.selectFrom('contacts').select('id').where('email', '=', email).execute()).toEqual([]);
  });
});

describe('store on postgres: opening', () => {
  it('creates its schema, migrates it once, and a second migration run applies nothing', async () => {
    const schema = `t_fresh_${Date.now().toString(36)}`;
    const store = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: './.nurture', schema, migrate: false });
    try {
      expect(store.kind).toBe('postgres');
      expect(store.describe).toContain(`(schema ${schema})`);
      expect(store.describe).not.toMatch(/:[^@/]*@/); // no credentials
      expect(await migrateToLatest(store.db, { schema })).toEqual({ applied: ALL });
      expect(await migrateToLatest(store.db, { schema })).toEqual({ applied: [] });
      expect(await currentSchema(store.db)).toBe(schema);
    } finally {
      await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(store.db);
      await store.close();
      await store.close(); // idempotent
    }
  });

  it('says how to start PostgreSQL when nothing answers, instead of timing out', async () => {
    const started = Date.now();
    const error = await openStore({ databaseUrl: 'postgres://127.0.0.1:1/test', dataDir: './.nurture' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect((error as Error).message).toBe(
      'PostgreSQL is not answering at 127.0.0.1:1 (DATABASE_URL): start it (pg_ctlcluster <version> main start / ' +
        'docker compose up -d postgres) or unset DATABASE_URL to use the embedded store in ./.nurture',
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('embedded store on disk', () => {
  let dataDir: string;
  const opened: Array<{ close(): Promise<void> }> = [];
  const track = <T extends { close(): Promise<void> }>(x: T): T => {
    opened.push(x);
    return x;
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'nurture-db-'));
  });
  afterEach(async () => {
    for (const x of opened.splice(0).reverse()) await x.close();
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('migrates a new store once, and reopening applies nothing', async () => {
    const first = await openStore({ dataDir, migrate: false });
    try {
      expect(first.kind).toBe('pglite');
      expect(first.pglite).toBeDefined();
      expect(await migrateToLatest(first.db)).toEqual({ applied: ALL });
      await insertContact(first.db, 'kept@example.com');
    } finally {
      await first.close();
    }
    expect(existsSync(path.join(dataDir, 'pglite.lock'))).toBe(false);
    const again = track(await openStore({ dataDir, migrate: false }));
    expect(await migrateToLatest(again.db)).toEqual({ applied: [] });
    expect(await again.db.selectFrom('contacts').select('email').execute()).toEqual([{ email: 'kept@example.com' }]);
  });

  it('is locked by the process that opened it: a second open says who holds it', async () => {
    const holder = track(await openStore({ dataDir }));
    expect((await readFile(path.join(dataDir, 'pglite.lock'), 'utf8')).trim()).toBe(String(process.pid));
    const error = await openStore({ dataDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect((error as Error).message).toContain(`in use by another nurture process (pid ${process.pid})`);
    expect((error as Error).message).toContain('DATABASE_URL');
    // The failed attempt left the holder's lock alone.
    expect((await readFile(path.join(dataDir, 'pglite.lock'), 'utf8')).trim()).toBe(String(process.pid));
    await holder.close();
    expect(existsSync(path.join(dataDir, 'pglite.lock'))).toBe(false);
  });

  it('takes over a lock left by a process that is gone', async () => {
    const dead = await deadPid();
    await writeFile(path.join(dataDir, 'pglite.lock'), `${dead}\n`);
    await writeFile(path.join(dataDir, EMBEDDED_INFO_FILE), JSON.stringify({ pid: dead, host: dataDir, port: 5432 }));
    const store = track(await openStore({ dataDir }));
    expect(store.pglite).toBeDefined();
    expect((await readFile(path.join(dataDir, 'pglite.lock'), 'utf8')).trim()).toBe(String(process.pid));
  });

  describe('served to other processes', () => {
    let engine: Store & { pglite: NonNullable<Store['pglite']> };
    let server: EmbeddedServer;

    beforeAll(async () => {
      const store = await openStore({ dataDir });
      engine = store as typeof engine;
      server = await startEmbeddedServer(engine, dataDir, { idleTimeoutMs: 2_000 });
    });
    afterAll(async () => {
      await server?.close();
      await engine?.close();
      expect(existsSync(path.join(dataDir, EMBEDDED_INFO_FILE))).toBe(false);
      expect(existsSync(embeddedSocketPath(dataDir))).toBe(false);
      expect(existsSync(path.join(dataDir, 'pglite.lock'))).toBe(false);
    });

    const client = async () => {
      const info = (await readEmbeddedInfo(dataDir))!;
      const c = new pg.Client({ host: info.host, port: info.port, user: 'postgres', database: 'postgres' });
      c.on('error', () => {});
      await c.connect();
      return track({ c, close: () => c.end().catch(() => {}) }).c;
    };

    it('writes embedded.json and opens a second store through the socket', async () => {
      expect(await readEmbeddedInfo(dataDir)).toEqual({ pid: process.pid, host: path.resolve(dataDir), port: 5432 });
      const cli = track(await openStore({ dataDir }));
      expect(cli.kind).toBe('pglite');
      expect(cli.pglite).toBeUndefined();
      expect(cli.describe).toContain(`served by nurture pid ${process.pid}`);

      const contact = await insertContact(engine.db, 'engine@example.com');
      const seen = await cli.db.selectFrom('contacts').selectAll().where('id', '=', contact.id).executeTakeFirstOrThrow();
      expect(seen).toEqual(contact); // same JS types through pg
      await cli.db.updateTable('contacts').set({ score: 7 }).where('id', '=', contact.id).execute();
      const back = await engine.db.selectFrom('contacts').select('score').where('id', '=', contact.id).executeTakeFirstOrThrow();
      expect(back.score).toBe(7);
      // Through the socket, migrations are visibly up to date too.
      expect(await migrateToLatest(cli.db)).toEqual({ applied: [] });
    });

    it("keeps a client's transaction and the engine's apart: each waits for the other, neither joins it", async () => {
      const c = await client();
      await c.query('begin');
      await c.query('insert into contacts (email) values ($1)', ['cli-tx@example.com']);
      let engineDone = false;
      const engineRead = engine.db
        .selectFrom('contacts')
        .select('email')
        .where('email', '=', 'cli-tx@example.com')
        .execute()
        .finally(() => (engineDone = true));
      await sleep(200);
      expect(engineDone).toBe(false); // waits for the client's transaction, does not run inside it
      await c.query('rollback');
      expect(await engineRead).toEqual([]);

      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const engineTx = engine.db.transaction().execute(async (trx) => {
        await insertContact(trx, 'engine-tx@example.com');
        await gate;
      });
      await sleep(50);
      let clientDone = false;
      const clientRead = c
        .query('select count(*)::int as n from contacts where email = $1', ['engine-tx@example.com'])
        .finally(() => (clientDone = true));
      await sleep(200);
      expect(clientDone).toBe(false);
      release();
      await engineTx;
      expect((await clientRead).rows).toEqual([{ n: 1 }]);
    });

    it('serves several clients and the engine at once without mixing their statements', async () => {
      const contact = await insertContact(engine.db, 'busy@example.com');
      const clients = await Promise.all([client(), client(), client()]);
      const engineJobs = Array.from({ length: 20 }, () =>
        engine.db.transaction().execute(async (trx) => {
          const { score } = await trx.selectFrom('contacts').select('score').where('id', '=', contact.id).executeTakeFirstOrThrow();
          await sleep(1);
          await trx.updateTable('contacts').set({ score: score + 1 }).where('id', '=', contact.id).execute();
        }),
      );
      const clientJobs = clients.map(async (c, i) => {
        for (let j = 0; j < 10; j++) {
          // Parameterised: pg sends Parse/Bind/Execute/Sync, which must not interleave with anything.
          const { rows } = await c.query('select $1::text as tag, $2::int as n, id from contacts where id = $3', [
            `c${i}`, j, contact.id,
          ]);
          expect(rows).toEqual([{ tag: `c${i}`, n: j, id: contact.id }]);
        }
      });
      await Promise.all([...engineJobs, ...clientJobs]);
      const { score } = await engine.db.selectFrom('contacts').select('score').where('id', '=', contact.id).executeTakeFirstOrThrow();
      expect(score).toBe(20);
    });

    it('rolls back and frees the store when a client vanishes inside a transaction', async () => {
      const c = await client();
      await c.query('begin');
      await c.query('insert into contacts (email) values ($1)', ['vanished@example.com']);
      (c as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
      const rows = await engine.db.selectFrom('contacts').select('email').where('email', '=', 'vanished@example.com').execute();
      expect(rows).toEqual([]);
      expect(engine.pglite.isInTransaction()).toBe(false);
    });

    it('disconnects a client idle inside a transaction, so the engine is not held for long', async () => {
      const c = await client();
      await c.query('begin');
      await c.query('insert into contacts (email) values ($1)', ['idle@example.com']);
      const started = Date.now();
      const rows = await engine.db.selectFrom('contacts').select('email').where('email', '=', 'idle@example.com').execute();
      expect(rows).toEqual([]);
      expect(Date.now() - started).toBeLessThan(5_000); // idleTimeoutMs is 2 s here
    });

    it('answers a separate process (pg over the unix socket)', async () => {
      const script = `
        import pg from 'pg';
        const c = new pg.Client({ host: process.argv[1], port: 5432, user: 'postgres', database: 'postgres' });
        await c.connect();
        const { rows } = await c.query('select count(*) as n from contacts where email = $1', ['engine@example.com']);
        console.log(JSON.stringify(rows));
        await c.end();
      `;
      const out = await run(process.execPath, ['--input-type=module', '-e', script, path.resolve(dataDir)]);
      expect(JSON.parse(out)).toEqual([{ n: '1' }]);
      // The engine is still fine afterwards.
      expect(await engine.db.selectFrom('contacts').select('email').where('email', '=', 'engine@example.com').execute()).toHaveLength(1);
    });
  });
});

/** A pid that belonged to a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  const pid = child.pid!;
  await new Promise((resolve) => child.once('exit', resolve));
  return pid;
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: path.resolve(import.meta.dirname, '../..') });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${err}`))));
  });
}
