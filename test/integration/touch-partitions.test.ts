import { Kysely, Migrator, sql } from 'kysely';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { maintainPartitions } from '../../src/app/maintain-partitions.js';
import { findLinkedContact, lockLinkedContact } from '../../src/db/link-target-repository.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { migrationProvider, migrations } from '../../src/db/migrations/index.js';
import { partitionNames } from '../../src/db/partition-repository.js';
import type { Database } from '../../src/db/schema.js';
import { insertTouches } from '../../src/db/touch-repository.js';
import type { NewTouch } from '../../src/db/touch-repository.js';
import type { Logger } from '../../src/logger.js';
import { PartitionMaintenance } from '../../src/workers/partition-maintenance.js';
import { unmigratedStore } from '../support/unmigrated-store.js';

/**
 * Migration 2026-12-04T090000-touch-partitions on a populated store (rows kept, keys still
 * claimed once, the pending opt-in reference kept by the trigger, down restores one table), the
 * maintenance of touch partitions (months created ahead, rows moved out of the default,
 * retention that keeps months still holding work), and links that still reach their contact
 * once their touch is dropped. On real PostgreSQL and on PGlite.
 */

const PARTITIONS = '2026-12-04T090000-touch-partitions';
const BEFORE = Object.keys(migrations).filter((n) => n < PARTITIONS).at(-1)!;
const at = (s: string) => new Date(s);

const touch = (contactId: string, key: string, o: Partial<NewTouch> = {}): NewTouch => ({
  id: crypto.randomUUID(), key, enrollment_id: null, contact_id: contactId, sequence_id: 'welcome', step_id: key, kind: 'email',
  template: 'hello', status: 'sent', subject: null, due_at: at('2026-12-01T10:00:00Z'), ...o,
});

/** A touch made at `createdAt` (the engine's inserts take the database clock). */
async function insertAt(db: Kysely<Database>, t: NewTouch, createdAt: Date): Promise<void> {
  await db.insertInto('touches').values({ ...t, created_at: createdAt }).execute();
}

const partOf = async (db: Kysely<Database>, id: string) =>
  (await sql<{ part: string }>`select tableoid::regclass::text as part from touches where id = ${id}`.execute(db)).rows[0]?.part;
const keys = async (db: Kysely<Database>) => (await db.selectFrom('touch_keys').select('key').orderBy('key').execute()).map((r) => r.key);

describe.each(['postgres', 'pglite'] as const)('touch partitions on %s', (kind) => {
  let backend: Awaited<ReturnType<typeof unmigratedStore>>;
  let db: Kysely<Database>;
  let contactId: string;
  const ids = { old: '', recent: '', optIn: '' };

  beforeAll(async () => {
    backend = await unmigratedStore(kind, 3);
    db = backend.db;
  });
  afterAll(async () => {
    await backend?.close();
  });

  it('converts a populated store in place: every row kept, each in its month, keys still claimed once', async () => {
    expect((await new Migrator({ db, provider: migrationProvider }).migrateTo(BEFORE)).error).toBeUndefined();
    contactId = (await sql<{ id: string }>`insert into contacts (email) values ('ann@example.com') returning id`.execute(db)).rows[0]!.id;
    const made = await sql<{ id: string; key: string }>`
      insert into touches (key, contact_id, step_id, kind, status, due_at, created_at, sent_at) values
        ('e/old', ${contactId}, 'old', 'email', 'sent', ${at('2025-03-02T10:00:00Z')}, ${at('2025-03-02T10:00:00Z')}, ${at('2025-03-02T10:00:05Z')}),
        ('e/recent', ${contactId}, 'recent', 'email', 'pending', ${at('2026-11-30T23:59:59Z')}, ${at('2026-11-30T23:59:59Z')}, null),
        ('e/confirm', ${contactId}, 'confirm', 'email', 'sent', ${at('2026-11-02T08:00:00Z')}, ${at('2026-11-02T08:00:00Z')}, null)
      returning id, key`.execute(db);
    const byKey = new Map(made.rows.map((r) => [r.key, r.id]));
    ids.old = byKey.get('e/old')!;
    ids.recent = byKey.get('e/recent')!;
    ids.optIn = byKey.get('e/confirm')!;
    await sql`insert into pending_opt_ins (contact_id, form_id, form_version, contact, data, wording, wording_hash, touch_id, created_at, expires_at)
      values (${contactId}, 'newsletter', 'v1', '{}', '{}', 'Yes', 'h', ${ids.optIn}, now(), now() + interval '7 days')`.execute(db);
    const rowsBefore = (await sql`select * from touches order by id`.execute(db)).rows;

    expect((await migrateToLatest(db)).applied).toEqual(Object.keys(migrations).filter((n) => n >= PARTITIONS));

    expect((await sql<{ relkind: string }>`select relkind from pg_class where oid = 'touches'::regclass`.execute(db)).rows[0]!.relkind).toBe('p');
    expect((await sql`select * from touches order by id`.execute(db)).rows).toEqual(rowsBefore);
    expect(await partitionNames(db, 'touches')).toEqual(expect.arrayContaining(['touches_default', 'touches_y2025m03', 'touches_y2026m11']));
    expect(await partOf(db, ids.old)).toBe('touches_y2025m03');
    expect(await partOf(db, ids.recent)).toBe('touches_y2026m11');
    expect(await keys(db)).toEqual(['e/confirm', 'e/old', 'e/recent']);

    // A step never runs twice: a key seen before (whatever its month) is skipped, a new one kept, a repeat within the batch too.
    const fresh = touch(contactId, 'e/fresh');
    const inserted = await insertTouches(db, [touch(contactId, 'e/old'), fresh, touch(contactId, 'e/fresh')]);
    expect([...inserted]).toEqual([fresh.id]);
    expect((await sql<{ n: number }>`select count(*)::int as n from touches where key = 'e/fresh'`.execute(db)).rows[0]!.n).toBe(1);
    // Lookups by id find a touch in any month.
    expect((await db.selectFrom('touches').select('key').where('id', '=', ids.old).executeTakeFirst())?.key).toBe('e/old');
  });

  it.runIf(kind === 'postgres')('claims a key once across concurrent transactions: the second waits, and is skipped on commit or kept on rollback', async () => {
    for (const outcome of ['commit', 'rollback'] as const) {
      const key = `e/race-${outcome}`;
      const first = touch(contactId, key);
      const second = touch(contactId, key);
      let inserted!: () => void;
      const firstInserted = new Promise<void>((r) => (inserted = r));
      let finish!: () => void;
      const finished = new Promise<void>((r) => (finish = r));
      const t1 = db.transaction().execute(async (tx) => {
        await insertTouches(tx, [first]);
        inserted();
        await finished;
        if (outcome === 'rollback') throw new Error('rolled back');
      }).catch((err: Error) => err.message);
      await firstInserted;
      const t2 = insertTouches(db, [second]);
      finish();
      await t1;
      const won = [...(await t2)];
      const stored = (await db.selectFrom('touches').select('id').where('key', '=', key).execute()).map((r) => r.id);
      expect({ outcome, won, stored }).toEqual(outcome === 'commit' ? { outcome, won: [], stored: [first.id] } : { outcome, won: [second.id], stored: [second.id] });
    }
  });

  it('refuses to change the partition key of a stored row, which would lose the row', async () => {
    await expect(sql`update touches set created_at = ${at('2026-12-10T00:00:00Z')} where id = ${ids.old}`.execute(db)).rejects.toThrow(/touches\.created_at cannot change once written/);
    expect(await partOf(db, ids.old)).toBe('touches_y2025m03');
    await sql`insert into events (id, contact_id, type, occurred_at, received_at) values ('ev-fixed', ${contactId}, 'email_opened', now(), ${at('2026-11-10T00:00:00Z')})`.execute(db);
    await expect(sql`update events set received_at = ${at('2026-12-10T00:00:00Z')} where id = 'ev-fixed'`.execute(db)).rejects.toThrow(/events\.received_at cannot change once written/);
    expect((await sql<{ n: number }>`select count(*)::int as n from events where id = 'ev-fixed'`.execute(db)).rows[0]!.n).toBe(1);
    // Any other column changes as before.
    await db.updateTable('touches').set({ attempts: 2 }).where('id', '=', ids.old).execute();
  });

  it('keeps the pending opt-in reference and frees the key when a touch is deleted, as the foreign key and unique key did', async () => {
    const extra = touch(contactId, 'e/deleted');
    await insertTouches(db, [extra]);
    await sql`update pending_opt_ins set touch_id = ${extra.id}`.execute(db);
    await db.deleteFrom('touches').where('id', '=', extra.id).execute();
    expect((await db.selectFrom('pending_opt_ins').select('touch_id').executeTakeFirstOrThrow()).touch_id).toBeNull();
    expect(await keys(db)).not.toContain('e/deleted');
    expect([...(await insertTouches(db, [touch(contactId, 'e/deleted')]))]).toHaveLength(1);
    await sql`update pending_opt_ins set touch_id = ${ids.optIn}`.execute(db);
  });

  it('creates months ahead, moves rows out of the default partition, and drops months past the retention unless they hold work', async () => {
    // A touch made in a month with no partition (far ahead) lands in the default partition.
    const ahead = touch(contactId, 'e/ahead');
    await insertAt(db, ahead, at('2031-06-10T00:00:00Z'));
    expect(await partOf(db, ahead.id)).toBe('touches_default');

    const ctx = { deps: { db } } as Parameters<typeof maintainPartitions>[0];
    const first = await maintainPartitions(ctx, 'touches', DateTime.fromISO('2031-05-20T12:00:00Z', { zone: 'utc' }), { retentionMonths: undefined });
    expect(first).toEqual({ created: ['2031-05-01', '2031-06-01', '2031-07-01', '2031-08-01'], dropped: [], held: [], defaultRows: false });
    expect(await partOf(db, ahead.id)).toBe('touches_y2031m06');

    // 18 months at 2026-12-20: March 2025 (sent) goes; November 2026 stays.
    const r = await maintainPartitions(ctx, 'touches', DateTime.fromISO('2026-12-20T00:00:00Z', { zone: 'utc' }), { retentionMonths: 18 });
    expect(r.dropped).toEqual(['touches_y2025m03']);
    expect(await partOf(db, ids.old)).toBeUndefined();
    // Its key stays claimed: the step of a touch past retention still never runs again.
    expect(await keys(db)).toContain('e/old');
    expect([...(await insertTouches(db, [touch(contactId, 'e/old')]))]).toEqual([]);

    // 1 month at 2027-01-15: November 2026 holds an unsent email (pending) and is kept; once it is sent, it goes,
    // and the pending opt-in that named a touch of it forgets it.
    const held = await maintainPartitions(ctx, 'touches', DateTime.fromISO('2027-01-15T00:00:00Z', { zone: 'utc' }), { retentionMonths: 1 });
    expect(held.held).toEqual(['touches_y2026m11']);
    expect(held.dropped).not.toContain('touches_y2026m11');
    expect(await partOf(db, ids.recent)).toBe('touches_y2026m11');
    await db.updateTable('touches').set({ status: 'sent', sent_at: at('2026-12-01T00:00:00Z') }).where('id', '=', ids.recent).execute();
    // An open task on a touch of that month holds it too.
    const call = touch(contactId, 'c/call', { kind: 'call', status: 'done', template: null });
    await insertAt(db, call, at('2026-11-15T00:00:00Z'));
    await sql`insert into tasks (touch_id, contact_id, kind, title, due_at) values (${call.id}, ${contactId}, 'call', 'Call Ann', now())`.execute(db);
    expect((await maintainPartitions(ctx, 'touches', DateTime.fromISO('2027-01-15T00:00:00Z', { zone: 'utc' }), { retentionMonths: 1 })).held).toEqual(['touches_y2026m11']);
    await sql`update tasks set status = 'done' where touch_id = ${call.id}`.execute(db);
    const gone = await maintainPartitions(ctx, 'touches', DateTime.fromISO('2027-01-15T00:00:00Z', { zone: 'utc' }), { retentionMonths: 1 });
    expect(gone).toMatchObject({ dropped: ['touches_y2026m11'], held: [] });
    expect((await db.selectFrom('pending_opt_ins').select('touch_id').executeTakeFirstOrThrow()).touch_id).toBeNull();
    // Events are another table: their partitions were left alone.
    expect(await partitionNames(db, 'events')).toContain('events_default');
  });

  it("finds a link's contact through the contact it names once its touch is dropped; a link of the touch alone finds nobody", async () => {
    const dropped = ids.old;
    expect((await findLinkedContact(db, { touchId: dropped, contactId }))?.email).toBe('ann@example.com');
    expect(await db.transaction().execute((tx) => lockLinkedContact(tx, { touchId: dropped, contactId }))).toMatchObject({ id: contactId });
    expect(await findLinkedContact(db, { touchId: dropped })).toBeUndefined();
    // A touch still stored is found through the touch.
    const live = (await db.selectFrom('touches').select('id').where('key', '=', 'e/ahead').executeTakeFirstOrThrow()).id;
    expect((await findLinkedContact(db, { touchId: live }))?.id).toBe(contactId);
  });

  it('forgets the keys of an erased contact (the delete cascades from contacts)', async () => {
    const bo = (await sql<{ id: string }>`insert into contacts (email) values ('bo@example.com') returning id`.execute(db)).rows[0]!.id;
    await insertTouches(db, [touch(bo, 'bo/1'), touch(bo, 'bo/2')]);
    expect(await keys(db)).toEqual(expect.arrayContaining(['bo/1', 'bo/2']));
    await db.deleteFrom('contacts').where('id', '=', bo).execute();
    expect((await keys(db)).filter((k) => k.startsWith('bo/'))).toEqual([]);
  });

  it('migrates down to one table with every remaining row, and up again', async () => {
    const rows = (await sql`select * from touches order by id`.execute(db)).rows;
    expect((await new Migrator({ db, provider: migrationProvider }).migrateTo(BEFORE)).error).toBeUndefined();
    expect((await sql<{ relkind: string }>`select relkind from pg_class where oid = 'touches'::regclass`.execute(db)).rows[0]!.relkind).toBe('r');
    expect((await sql`select * from touches order by id`.execute(db)).rows).toEqual(rows);
    await expect(sql`insert into touches (key, contact_id, step_id, kind, due_at) values ('e/ahead', ${contactId}, 's', 'email', now())`.execute(db)).rejects.toThrow(/touches_key_key/);
    expect((await migrateToLatest(db)).applied).toEqual(Object.keys(migrations).filter((n) => n >= PARTITIONS));
    expect((await sql`select * from touches order by id`.execute(db)).rows).toEqual(rows);
  });

  it('is kept by the worker loop: touch months ahead created and the held ones logged once', async () => {
    const lines: { msg: string; obj: unknown }[] = [];
    const log = { info: (obj: unknown, msg: string) => lines.push({ obj, msg }), warn: (obj: unknown, msg?: string) => lines.push({ obj, msg: msg ?? String(obj) }) } as unknown as Logger;
    // 2031-06 (where the touch made "ahead" went) is past a 12-month retention in 2033, and holds an unsent email.
    const pending = touch(contactId, 'e/pending-2031', { status: 'pending' });
    await insertAt(db, pending, at('2031-06-11T00:00:00Z'));
    const clock = () => DateTime.fromISO('2033-03-10T00:00:00Z', { zone: 'utc' });
    const loop = new PartitionMaintenance({ deps: { db } } as ConstructorParameters<typeof PartitionMaintenance>[0], { retentionMonths: { events: undefined, touches: 12 }, log, clock, intervalMs: 50 });
    loop.start();
    try {
      await vi.waitFor(() => expect(lines.filter((l) => l.msg === 'touch partitions created')).toHaveLength(1), { timeout: 10_000 });
      // Several rounds later the held month is still warned about once.
      await vi.waitFor(() => expect(lines.filter((l) => l.msg.startsWith('touch partitions older than NURTURE_TOUCHES_RETENTION kept'))).toHaveLength(1), { timeout: 10_000 });
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      await loop.stop();
    }
    expect(lines.filter((l) => l.msg.startsWith('touch partitions older than NURTURE_TOUCHES_RETENTION kept'))).toEqual([
      { obj: { partitions: ['touches_y2031m06'] }, msg: expect.stringContaining('they hold unsent email or open tasks') },
    ]);
    expect(lines.find((l) => l.msg === 'touch partitions created')?.obj).toEqual({ months: ['2033-03-01', '2033-04-01', '2033-05-01', '2033-06-01'] });
    expect(await partOf(db, pending.id)).toBe('touches_y2031m06');
  });
});
