import { randomBytes } from 'node:crypto';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/db/database.js';
import type { Store } from '../../src/db/database.js';
import { catchUpReportRollups } from '../../src/db/report-rollup-repository.js';
import type { Database } from '../../src/db/schema.js';
import type { FunnelReport } from '../../src/queries/reports/funnel.js';
import { buildReport } from '../../src/queries/reports/report.js';
import type { ReportResult } from '../../src/queries/reports/report.js';
import { uncountedNote } from '../../src/queries/reports/tables.js';
import { createTestDatabase } from '../support/databases.js';
import { POSTGRES_TEST_URL } from '../support/services.js';

/**
 * Reports on a connection that cannot write (a hot standby, a read-only role): the catch-up they
 * run first cannot, so they read what the engine's catch-up left and say how many contacts they
 * could not count yet, instead of failing.
 */
describe('reports on a connection that cannot write', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let store: Store;
  const role = `nurture_reader_${randomBytes(4).toString('hex')}`;
  const readers: Kysely<Database>[] = [];
  const now = new Date('2026-12-04T12:00:00Z');

  const funnelOf = (r: ReportResult): FunnelReport => {
    if (r.name !== 'funnel') throw new Error(`expected the funnel, got ${r.name}`);
    return r.data;
  };
  const reader = (url: string): Kysely<Database> => {
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 2 }) }) });
    readers.push(db);
    return db;
  };
  const optIn = async (email: string) => {
    const id = (await sql<{ id: string }>`insert into contacts (email) values (${email}) returning id`.execute(store.db)).rows[0]!.id;
    await sql`insert into events (id, contact_id, type, occurred_at, data) values (${`ev-${email}`}, ${id}, 'opt_in', ${new Date('2026-12-01T10:00:00Z')}, ${JSON.stringify({ source: 'ads' })})`.execute(store.db);
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    store = await openStore({ databaseUrl: database.url, dataDir: '.nurture-test-unused', poolSize: 2 });
    await sql.raw(`create role ${role} login; grant usage on schema public to ${role}; grant select on all tables in schema public to ${role}`).execute(store.db);
  });
  afterAll(async () => {
    for (const r of readers) await r.destroy();
    await store?.close();
    await database?.drop();
    // Its grants went with the database; the role is the cluster's, so it goes from elsewhere.
    const admin = new pg.Client({ connectionString: POSTGRES_TEST_URL });
    await admin.connect();
    await admin.query(`drop role if exists ${role}`).finally(() => admin.end());
  });

  // A session in read-only mode is what a hot standby gives (SQLSTATE 25006); a role with SELECT only is refused the rollup's writes (42501).
  const readOnlySession = () => {
    const url = new URL(database.url);
    url.searchParams.set('options', '-c default_transaction_read_only=on');
    return reader(url.toString());
  };
  const selectOnlyRole = () => {
    const url = new URL(database.url);
    url.username = role;
    return reader(url.toString());
  };

  it.each([
    ['a read-only session (a replica)', readOnlySession],
    ['a role that may only select', selectOnlyRole],
  ])('on %s: reads what was caught up, and says how many contacts are not counted yet', async (_name, open) => {
    const db = open();
    await catchUpReportRollups(store.db);
    const before = funnelOf(await buildReport(db, 'funnel', { now }));
    expect(before.uncounted).toBe(0);
    await optIn(`${randomBytes(3).toString('hex')}-a@example.com`);
    await optIn(`${randomBytes(3).toString('hex')}-b@example.com`);

    const funnel = funnelOf(await buildReport(db, 'funnel', { now }));
    expect(funnel.uncounted).toBe(2);
    expect(funnel.total.steps[0]!.contacts).toBe(before.total.steps[0]!.contacts);
    const ttl = await buildReport(db, 'time-to-lead', { now });
    expect(ttl.name === 'time-to-lead' ? ttl.data.uncounted : undefined).toBe(2);

    // The engine's catch-up, on the primary with its own role: then the reader counts them.
    await catchUpReportRollups(store.db);
    const after = funnelOf(await buildReport(db, 'funnel', { now }));
    expect(after.uncounted).toBe(0);
    expect(after.total.steps[0]!.contacts).toBe(before.total.steps[0]!.contacts + 2);
  });

  it('says so in words, and nothing when everything is counted', () => {
    expect(uncountedNote(0)).toBe('');
    expect(uncountedNote(1)).toBe(' (1 contact changed since the engine last caught the report rollup up, not counted yet: this connection cannot write; the engine catches up every few seconds)');
    expect(uncountedNote(3)).toContain('3 contacts changed');
  });
});
