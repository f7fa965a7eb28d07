import { catchUpReportRollups } from '../../src/db/report-rollup-repository.js';
import { Kysely, Migrator, sql } from 'kysely';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { maintainPartitions } from '../../src/app/maintain-partitions.js';
import { insertEvents, storedEventBodies } from '../../src/db/event-repository.js';
import { partitionNames } from '../../src/db/partition-repository.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { migrationProvider, migrations } from '../../src/db/migrations/index.js';
import type { Database } from '../../src/db/schema.js';
import type { NurtureEvent } from '../../src/sequences/event.js';
import type { Logger } from '../../src/logger.js';
import { PartitionMaintenance } from '../../src/workers/partition-maintenance.js';
import { unmigratedStore } from '../support/unmigrated-store.js';

/**
 * Migration 2026-12-03T140000-event-partitions on a populated store (rows kept, ids still
 * deduplicated, rollup triggers still firing, down restores one table), and the partition
 * maintenance (months created ahead, rows moved out of the default partition, retention).
 * On real PostgreSQL and on PGlite.
 */

const PARTITIONS = '2026-12-03T140000-event-partitions';
const BEFORE = Object.keys(migrations).filter((n) => n < PARTITIONS).at(-1)!;
const at = (s: string) => new Date(s);

function event(id: string, email: string, type = 'email_opened'): NurtureEvent {
  return { id, type, occurredAt: '2026-12-01T10:00:00.000Z', contact: { email }, data: {} } as NurtureEvent;
}

describe.each(['postgres', 'pglite'] as const)('event partitions on %s', (kind) => {
  let backend: Awaited<ReturnType<typeof unmigratedStore>>;
  let db: Kysely<Database>;
  let contactId: string;

  beforeAll(async () => {
    backend = await unmigratedStore(kind);
    db = backend.db;
  });
  afterAll(async () => {
    await backend?.close();
  });

  it('converts a populated store in place: every row, its seq and the rollups kept, ids still applied once', async () => {
    const before = await new Migrator({ db, provider: migrationProvider }).migrateTo(BEFORE);
    expect(before.error).toBeUndefined();
    const c = await sql<{ id: string }>`insert into contacts (email) values ('ann@example.com') returning id`.execute(db);
    contactId = c.rows[0]!.id;
    const touch = await sql<{ id: string }>`
      insert into touches (key, contact_id, step_id, kind, due_at) values ('k1', ${contactId}, 's1', 'email', now()) returning id`.execute(db);
    // Three months of history, received in 2025 and 2026, one of them an open of the touch.
    await sql`
      insert into events (id, contact_id, type, occurred_at, received_at, data, touch_id) values
        ('old-opt', ${contactId}, 'opt_in', ${at('2025-03-02T10:00:00Z')}, ${at('2025-03-02T10:00:00Z')}, '{"source":"web"}', null),
        ('old-open', ${contactId}, 'email_opened', ${at('2025-03-05T10:00:00Z')}, ${at('2025-03-05T10:00:00Z')}, '{}', ${touch.rows[0]!.id}),
        ('new-click', ${contactId}, 'email_clicked', ${at('2026-11-30T23:59:59Z')}, ${at('2026-11-30T23:59:59Z')}, '{}', null)`.execute(db);
    const oldRows = await sql<{ id: string; seq: string }>`select id, seq from events order by seq`.execute(db);
    const rollupBefore = await sql`select * from report_contacts`.execute(db);
    expect(rollupBefore.rows).toHaveLength(1);

    expect((await migrateToLatest(db)).applied).toContain(PARTITIONS);

    const { rows: kindRow } = await sql<{ relkind: string }>`select relkind from pg_class where oid = 'events'::regclass`.execute(db);
    expect(kindRow[0]!.relkind).toBe('p');
    expect((await sql<{ id: string; seq: string }>`select id, seq from events order by seq`.execute(db)).rows).toEqual(oldRows.rows);
    const names = await partitionNames(db, 'events');
    expect(names).toEqual(expect.arrayContaining(['events_default', 'events_y2025m03', 'events_y2026m11']));
    // Each row sits in its month's partition, none in the default.
    const where = await sql<{ id: string; part: string }>`select id, tableoid::regclass::text as part from events order by seq`.execute(db);
    expect(where.rows.map((r) => r.part)).toEqual(['events_y2025m03', 'events_y2025m03', 'events_y2026m11']);
    expect((await sql`select * from report_contacts`.execute(db)).rows).toEqual(rollupBefore.rows);
    expect((await sql<{ n: number }>`select count(*)::int as n from event_ids`.execute(db)).rows[0]!.n).toBe(3);

    // The producer's id is still applied once, whichever month the first copy went to.
    const inserted = await insertEvents(db, [
      { event: event('old-open', 'ann@example.com'), contactId, touchId: null },
      { event: event('fresh', 'ann@example.com'), contactId, touchId: null },
      { event: event('fresh', 'ann@example.com'), contactId, touchId: null },
    ]);
    expect([...inserted]).toEqual(['fresh']);
    expect((await sql<{ n: number }>`select count(*)::int as n from events where id = 'fresh'`.execute(db)).rows[0]!.n).toBe(1);
    const bodies = await storedEventBodies(db, ['old-opt', 'fresh', 'never']);
    expect([...bodies.keys()].sort()).toEqual(['fresh', 'old-opt']);
    expect(bodies.get('old-opt')!.body.data).toEqual({ source: 'web' });

    // The rollup triggers fire on the new table: an opt-in names its contact, and the catch-up (migration 2026-12-04T120000) counts it.
    await sql`insert into contacts (email) values ('bo@example.com')`.execute(db);
    await sql`insert into events (id, contact_id, type, occurred_at, data) select 'bo-opt', id, 'opt_in', now(), '{"source":"form"}' from contacts where email = 'bo@example.com'`.execute(db);
    await catchUpReportRollups(db);
    expect((await sql<{ source: string }>`select source from report_contacts r join contacts c on c.id = r.contact_id where email = 'bo@example.com'`.execute(db)).rows).toEqual([{ source: 'form' }]);
    // A deleted event's id may come again (as with the old primary key).
    await db.deleteFrom('events').where('id', '=', 'fresh').execute();
    expect([...(await insertEvents(db, [{ event: event('fresh', 'ann@example.com'), contactId, touchId: null }]))]).toEqual(['fresh']);
  });

  it('creates months ahead, moves rows out of the default partition, and drops months past the retention', async () => {
    // A row received in a month with no partition (far ahead) lands in the default partition.
    await sql`insert into events (id, contact_id, type, occurred_at, received_at) values ('ahead', ${contactId}, 'email_opened', now(), ${at('2031-06-10T00:00:00Z')})`.execute(db);
    expect((await sql<{ part: string }>`select tableoid::regclass::text as part from events where id = 'ahead'`.execute(db)).rows[0]!.part).toBe('events_default');

    const ctx = { deps: { db } } as Parameters<typeof maintainPartitions>[0];
    const now = DateTime.fromISO('2031-05-20T12:00:00Z', { zone: 'utc' });
    const first = await maintainPartitions(ctx, 'events', now, { retentionMonths: undefined });
    expect(first.created).toEqual(['2031-05-01', '2031-06-01', '2031-07-01', '2031-08-01']);
    expect(first.dropped).toEqual([]);
    expect(first.defaultRows).toBe(false);
    expect((await sql<{ part: string }>`select tableoid::regclass::text as part from events where id = 'ahead'`.execute(db)).rows[0]!.part).toBe('events_y2031m06');
    // A second round changes nothing.
    expect(await maintainPartitions(ctx, 'events', now, { retentionMonths: undefined })).toEqual({ created: [], dropped: [], held: [], defaultRows: false });

    // 18 months at 2026-12-20: March 2025 goes, November 2026 stays; the ids of what went stay claimed.
    const dropped = await maintainPartitions(ctx, 'events', DateTime.fromISO('2026-12-20T00:00:00Z', { zone: 'utc' }), { retentionMonths: 18 });
    expect(dropped.dropped).toEqual(['events_y2025m03']);
    const left = await sql<{ id: string }>`select id from events order by seq`.execute(db);
    expect(left.rows.map((r) => r.id)).not.toContain('old-opt');
    expect(left.rows.map((r) => r.id)).toContain('new-click');
    expect([...(await insertEvents(db, [{ event: event('old-opt', 'ann@example.com', 'opt_in'), contactId, touchId: null }]))]).toEqual([]);
    // The rollups are not events: the contact's first opt-in is still counted.
    expect((await sql<{ n: number }>`select count(*)::int as n from report_contacts where contact_id = ${contactId}`.execute(db)).rows[0]!.n).toBe(1);
  });

  it('migrates down to one table with every remaining row, and up again', async () => {
    const rows = (await sql<{ id: string; seq: string }>`select id, seq from events order by seq`.execute(db)).rows;
    const down = await new Migrator({ db, provider: migrationProvider }).migrateTo(BEFORE);
    expect(down.error).toBeUndefined();
    expect((await sql<{ relkind: string }>`select relkind from pg_class where oid = 'events'::regclass`.execute(db)).rows[0]!.relkind).toBe('r');
    expect((await sql<{ id: string; seq: string }>`select id, seq from events order by seq`.execute(db)).rows).toEqual(rows);
    await expect(sql`insert into events (id, contact_id, type, occurred_at) values ('fresh', ${contactId}, 'x', now())`.execute(db)).rejects.toThrow(/events_pkey/);
    expect((await migrateToLatest(db)).applied).toContain(PARTITIONS);
    expect((await sql<{ id: string; seq: string }>`select id, seq from events order by seq`.execute(db)).rows).toEqual(rows);
  });

  it('is kept by the worker loop of every sweeping process: months ahead created, months past the retention dropped, both logged', async () => {
    const lines: { msg: string; obj: unknown }[] = [];
    const log = { info: (obj: unknown, msg: string) => lines.push({ obj, msg }), warn: (obj: unknown, msg?: string) => lines.push({ obj, msg: msg ?? String(obj) }) } as unknown as Logger;
    const clock = () => DateTime.fromISO('2032-03-10T00:00:00Z', { zone: 'utc' });
    const loop = new PartitionMaintenance({ deps: { db } } as ConstructorParameters<typeof PartitionMaintenance>[0], { retentionMonths: { events: 12, touches: undefined }, log, clock });
    loop.start();
    try {
      await vi.waitFor(() => expect(lines.map((l) => l.msg)).toContain('event partitions dropped: older than NURTURE_EVENTS_RETENTION'), { timeout: 10_000 });
    } finally {
      await loop.stop();
    }
    const names = await partitionNames(db, 'events');
    expect(names).toEqual(expect.arrayContaining(['events_y2032m03', 'events_y2032m04', 'events_y2032m05', 'events_y2032m06', 'events_y2031m06', 'events_default']));
    // Kept from March 2031 on: nothing older is left.
    expect(names.filter((n) => /^events_y/.test(n) && n < 'events_y2031m03')).toEqual([]);
    expect((await sql<{ id: string }>`select id from events`.execute(db)).rows.map((r) => r.id)).toEqual(['ahead']);
    expect(lines.find((l) => l.msg === 'event partitions created')?.obj).toEqual({ months: ['2032-03-01', '2032-04-01', '2032-05-01', '2032-06-01'] });
  });
});
