import { Migrator, sql } from 'kysely';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest } from '../../src/db/migrate.js';
import { migrationProvider, migrations } from '../../src/db/migrations/index.js';
import { catchUpReportRollups } from '../../src/db/report-rollup-repository.js';
import type { Database } from '../../src/db/schema.js';
import { withSession } from '../support/databases.js';
import { unmigratedStore } from '../support/unmigrated-store.js';

/**
 * Migration 2026-12-04T120000-report-rollups-deferred on a populated store: what was rolled up
 * stays; writes after it name their contacts instead of recomputing them; a catch-up takes the
 * names in chunks and recomputes each contact once; `down` catches up first, so nothing named is
 * lost, and puts back the triggers that recompute in the writer's transaction. On PostgreSQL and
 * on PGlite.
 */

const DEFERRED = '2026-12-04T120000-report-rollups-deferred';
const BEFORE = Object.keys(migrations).filter((n) => n < DEFERRED).at(-1)!;

const optIn = (db: Kysely<Database>, id: string, contactId: string, at: string, source: string) =>
  sql`insert into events (id, contact_id, type, occurred_at, data) values (${id}, ${contactId}, 'opt_in', ${new Date(at)}, ${JSON.stringify({ source })})`.execute(db);
const contact = async (db: Kysely<Database>, email: string) => (await sql<{ id: string }>`insert into contacts (email) values (${email}) returning id`.execute(db)).rows[0]!.id;
const rolledUp = async (db: Kysely<Database>) =>
  (await sql<{ email: string; source: string; reached: number }>`select c.email, r.source, r.reached from report_contacts r join contacts c on c.id = r.contact_id order by c.email`.execute(db)).rows;
const named = async (db: Kysely<Database>) => (await sql<{ n: number }>`select count(*)::int as n from report_pending`.execute(db)).rows[0]!.n;

describe.each(['postgres', 'pglite'] as const)('deferred report rollups on %s', (kind) => {
  let backend: Awaited<ReturnType<typeof unmigratedStore>>;
  let db: Kysely<Database>;

  beforeAll(async () => {
    backend = await unmigratedStore(kind, 3);
    db = backend.db;
  });
  afterAll(async () => {
    await backend?.close();
  });

  it('keeps what was rolled up, then names contacts for the catch-up instead of recomputing them', async () => {
    expect((await new Migrator({ db, provider: migrationProvider }).migrateTo(BEFORE)).error).toBeUndefined();
    const ann = await contact(db, 'ann@example.com');
    await optIn(db, 'a1', ann, '2026-11-01T10:00:00Z', 'ads');
    expect(await rolledUp(db)).toEqual([{ email: 'ann@example.com', source: 'ads', reached: 0 }]);

    expect((await migrateToLatest(db)).applied).toEqual([DEFERRED]);
    expect(await rolledUp(db)).toEqual([{ email: 'ann@example.com', source: 'ads', reached: 0 }]);
    expect(await named(db)).toBe(0);

    const bob = await contact(db, 'bob@example.com');
    await optIn(db, 'b1', bob, '2026-11-02T10:00:00Z', 'radio');
    await sql`insert into stage_changes (contact_id, kind, from_stage, to_stage, reason, at) values (${ann}, 'stage', 'subscriber', 'lead', 'test', ${new Date('2026-11-03T10:00:00Z')})`.execute(db);
    // Named, not recomputed: ann still reads as before, bob is not counted yet.
    expect(await named(db)).toBe(2);
    expect(await rolledUp(db)).toEqual([{ email: 'ann@example.com', source: 'ads', reached: 0 }]);

    expect(await catchUpReportRollups(db)).toBe(2);
    expect(await rolledUp(db)).toEqual([
      { email: 'ann@example.com', source: 'ads', reached: 3 },
      { email: 'bob@example.com', source: 'radio', reached: 0 },
    ]);
    expect(await named(db)).toBe(0);
    expect(await catchUpReportRollups(db)).toBe(0);
  });

  it('takes names in chunks until none is left: 5,000 names of 2,500 contacts, each contact counted once', async () => {
    const ids = (await sql<{ id: string }>`insert into contacts (email) select 'bulk-' || i || '@example.com' from generate_series(1, 2500) i returning id`.execute(db)).rows.map((r) => r.id);
    await sql`insert into events (id, contact_id, type, occurred_at, data) select 'bulk-' || c.id, c.id, 'opt_in', now(), '{}' from contacts c where c.email like 'bulk-%'`.execute(db);
    // The same contacts named again by a second write each: 5,000 names, more than one chunk.
    await sql`insert into events (id, contact_id, type, occurred_at, data) select 'again-' || c.id, c.id, 'opt_in', now(), '{}' from contacts c where c.email like 'bulk-%'`.execute(db);
    expect(await named(db)).toBe(5000);
    expect(await catchUpReportRollups(db)).toBe(5000);
    expect(await named(db)).toBe(0);
    const counted = (await sql<{ n: number }>`select count(*)::int as n from report_contacts where contact_id = any(${ids}::uuid[])`.execute(db)).rows[0]!.n;
    expect(counted).toBe(2500);
  });

  it("adds a sequence enrolled in after the contact's opt-in was caught up, named by the enrollment", async () => {
    const eve = await contact(db, 'eve@example.com');
    await optIn(db, 'e1', eve, '2026-11-06T10:00:00Z', 'web');
    // The catch-up runs between the opt-in and the enrollment (another transaction, committed later).
    await catchUpReportRollups(db);
    const seqs = async () => (await sql<{ sequences: string[] }>`select sequences from report_contacts where contact_id = ${eve}`.execute(db)).rows[0]?.sequences;
    expect(await seqs()).toEqual([]);
    const enroll = (seq: string) =>
      sql`insert into enrollments (contact_id, sequence_id, sequence_version, status, state) values (${eve}, ${seq}, 'v1', 'active', '{}')`.execute(db);
    await enroll('late');
    expect(await named(db)).toBe(1);
    await catchUpReportRollups(db);
    expect(await seqs()).toEqual(['late']);
    // A sequence the row lists already names nobody.
    await enroll('late');
    expect(await named(db)).toBe(0);
  });

  it.runIf(kind === 'postgres')('adds a sequence whose enrollment was still uncommitted while a catch-up counted the contact from its opt-in', async () => {
    const ivy = await contact(db, 'ivy@example.com');
    await optIn(db, 'i1', ivy, '2026-11-06T12:00:00Z', 'web');
    await withSession(backend.url!, async (writer) => {
      await writer.query('begin');
      await writer.query(`insert into enrollments (contact_id, sequence_id, sequence_version, status, state) values ($1, 'racing', 'v1', 'active', '{}')`, [ivy]);
      // The catch-up takes the opt-in's name while the enrollment is not committed: no row lists 'racing' yet.
      await catchUpReportRollups(db);
      await writer.query('commit');
    });
    const seqs = async () => (await sql<{ sequences: string[] }>`select sequences from report_contacts where contact_id = ${ivy}`.execute(db)).rows[0]?.sequences;
    expect(await seqs()).toEqual([]);
    // The enrollment's trigger ran before the contact had a row: it named the contact all the same.
    expect(await named(db)).toBe(1);
    await catchUpReportRollups(db);
    expect(await seqs()).toEqual(['racing']);
  });

  it('takes no name given after it began, and leaves it for the next catch-up', async () => {
    const fay = await contact(db, 'fay@example.com');
    const gus = await contact(db, 'gus@example.com');
    await optIn(db, 'f1', fay, '2026-11-07T10:00:00Z', 'web');
    const mark = (await sql<{ mark: string }>`select max(seq)::text as mark from report_pending`.execute(db)).rows[0]!.mark;
    await optIn(db, 'g1', gus, '2026-11-07T11:00:00Z', 'web');
    expect((await sql<{ n: number }>`select report_catch_up(2000, ${mark}::bigint) as n`.execute(db)).rows[0]!.n).toBe(1);
    const counted = async () => (await rolledUp(db)).map((r) => r.email).filter((e) => e === 'fay@example.com' || e === 'gus@example.com');
    expect(await counted()).toEqual(['fay@example.com']);
    expect(await catchUpReportRollups(db)).toBe(1);
    expect(await counted()).toEqual(['fay@example.com', 'gus@example.com']);
  });

  it.runIf(kind === 'postgres')('recomputes a contact the engine holds locked without waiting for it (no lock on contacts, no deadlock)', async () => {
    const hal = await contact(db, 'hal@example.com');
    await optIn(db, 'h1', hal, '2026-11-08T10:00:00Z', 'web');
    await withSession(backend.url!, async (engine) => {
      // As the engine holds a contact while it applies an event.
      await engine.query('begin');
      await engine.query('select 1 from contacts where id = $1 for update', [hal]);
      // A catch-up that waited for that lock would fail here instead of finishing.
      const taken = await db.transaction().execute(async (tx) => {
        await sql`set local lock_timeout = '2s'`.execute(tx);
        return catchUpReportRollups(tx);
      });
      expect(taken).toBe(1);
      await engine.query('rollback');
    });
    expect((await rolledUp(db)).find((r) => r.email === 'hal@example.com')).toEqual({ email: 'hal@example.com', source: 'web', reached: 0 });
  });

  it('goes down by catching up first, and recomputes in the writer again; up again from there', async () => {
    const cy = await contact(db, 'cy@example.com');
    await optIn(db, 'c1', cy, '2026-11-04T10:00:00Z', 'mail');
    expect(await named(db)).toBe(1);
    expect((await new Migrator({ db, provider: migrationProvider }).migrateTo(BEFORE)).error).toBeUndefined();
    expect((await rolledUp(db)).find((r) => r.email === 'cy@example.com')).toEqual({ email: 'cy@example.com', source: 'mail', reached: 0 });
    expect((await sql<{ t: string | null }>`select to_regclass('report_pending')::text as t`.execute(db)).rows[0]!.t).toBeNull();
    const dee = await contact(db, 'dee@example.com');
    await optIn(db, 'd1', dee, '2026-11-05T10:00:00Z', 'web');
    expect((await rolledUp(db)).find((r) => r.email === 'dee@example.com')).toEqual({ email: 'dee@example.com', source: 'web', reached: 0 });
    // Each restored trigger recomputes in the writer, a stage change's as well as an opt-in's.
    await sql`insert into stage_changes (contact_id, kind, from_stage, to_stage, reason, at) values (${dee}, 'stage', 'subscriber', 'lead', 'test', ${new Date('2026-11-05T11:00:00Z')})`.execute(db);
    expect((await rolledUp(db)).find((r) => r.email === 'dee@example.com')).toEqual({ email: 'dee@example.com', source: 'web', reached: 3 });
    expect((await migrateToLatest(db)).applied).toEqual([DEFERRED]);
  });
});
