import { migrations } from '../../src/db/migrations/index.js';
import { sql } from 'kysely';
import { Migrator } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/db/database.js';
import type { Store } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { migrationProvider } from '../../src/db/migrations/index.js';
import type { Stage } from '../../src/sequences/stage.js';
import { createTestDatabase } from '../support/databases.js';

/**
 * The stage_changes migration on a database that already has contacts: promotions, unsubscribes
 * and bounces made before it are backfilled with their event where one can be found.
 */
describe('migration 2026-12-01T150000-stage-changes', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let store: Store;

  beforeAll(async () => {
    database = await createTestDatabase();
    store = await openStore({ databaseUrl: database.url, dataDir: '/tmp/nurture-unused', poolSize: 2, migrate: false });
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop({ checkLeaks: true });
  });

  it('backfills leads, unsubscribes and bounces, and then allows every stage', async () => {
    const db = store.db;
    // Every migration before this one, then data as the previous release left it.
    const before = await new Migrator({ db, provider: migrationProvider }).migrateTo('2026-12-01T140000-manual-control');
    expect(before.error).toBeUndefined();

    const at = (s: string) => new Date(s);
    // Lead: opted in, unsubscribed, then asked for an appointment (an unsubscribed lead).
    const ann = await sql<{ id: string }>`
      insert into contacts (email, status, opted_in_at, promoted_at, promotion_reason, unsubscribed_at)
      values ('ann@example.com', 'lead', ${at('2026-11-01T10:00:00Z')}, ${at('2026-11-03T10:00:00Z')}, 'event:appointment_requested', ${at('2026-11-02T10:00:00Z')})
      returning id`.execute(db);
    const annId = ann.rows[0]!.id;
    await sql`
      insert into events (id, contact_id, type, occurred_at, received_at) values
        ('a-opt', ${annId}, 'opt_in', ${at('2026-11-01T10:00:00Z')}, ${at('2026-11-01T10:00:00Z')}),
        ('a-unsub', ${annId}, 'unsubscribed', ${at('2026-11-02T09:59:00Z')}, ${at('2026-11-02T10:00:00Z')}),
        ('a-appt-old', ${annId}, 'appointment_requested', ${at('2026-10-01T10:00:00Z')}, ${at('2026-10-01T10:00:00Z')}),
        ('a-appt', ${annId}, 'appointment_requested', ${at('2026-11-03T09:59:59Z')}, ${at('2026-11-03T10:00:00Z')})`.execute(db);
    // A bounced subscriber whose bounce event was never stored; a plain subscriber.
    const bob = await sql<{ id: string }>`insert into contacts (email, bounced_at) values ('bob@example.com', ${at('2026-11-05T00:00:00Z')}) returning id`.execute(db);
    await sql`insert into contacts (email) values ('cy@example.com')`.execute(db);

    // This one and every one written after it.
    expect(await migrateToLatest(db)).toEqual({ applied: Object.keys(migrations).filter((name) => name >= '2026-12-01T150000-stage-changes') });

    const rows = await db.selectFrom('stage_changes').innerJoin('contacts', 'contacts.id', 'stage_changes.contact_id')
      .select(['email', 'kind', 'from_stage', 'to_stage', 'reason', 'event_id', 'at'])
      .orderBy('email').orderBy('at').execute();
    expect(rows).toEqual([
      { email: 'ann@example.com', kind: 'unsubscribed', from_stage: 'subscriber', to_stage: 'subscriber', reason: 'event:unsubscribed', event_id: 'a-unsub', at: at('2026-11-02T10:00:00Z') },
      { email: 'ann@example.com', kind: 'stage', from_stage: 'subscriber', to_stage: 'lead', reason: 'event:appointment_requested', event_id: 'a-appt', at: at('2026-11-03T10:00:00Z') },
      { email: 'bob@example.com', kind: 'bounced', from_stage: 'subscriber', to_stage: 'subscriber', reason: 'event:bounced', event_id: null, at: at('2026-11-05T00:00:00Z') },
    ]);

    // Every stage of the union is now a valid contacts.status; anything else is still refused.
    const stages: Stage[] = ['engaged', 'mql', 'customer', 'disqualified', 'subscriber'];
    for (const stage of stages) {
      await db.updateTable('contacts').set({ status: stage }).where('id', '=', bob.rows[0]!.id).execute();
    }
    await expect(sql`update contacts set status = 'unsubscribed' where email = 'bob@example.com'`.execute(db)).rejects.toThrow(/contacts_status_check/);
    await expect(
      sql`insert into stage_changes (contact_id, kind, from_stage, to_stage, reason, at) values (${annId}, 'stage', 'lead', 'vip', 'x', now())`.execute(db),
    ).rejects.toThrow(/stage_changes_to_stage_check/);

    // Down: the table goes; a contact already in a newer stage stays, new ones are refused again.
    await db.updateTable('contacts').set({ status: 'mql' }).where('id', '=', bob.rows[0]!.id).execute();
    // Down to the migration before it (every later one is undone first).
    const down = await new Migrator({ db, provider: migrationProvider }).migrateTo('2026-12-01T140000-manual-control');
    expect(down.error).toBeUndefined();
    await expect(sql`select 1 from stage_changes`.execute(db)).rejects.toThrow(/stage_changes/);
    expect((await db.selectFrom('contacts').select('status').where('id', '=', bob.rows[0]!.id).executeTakeFirstOrThrow()).status).toBe('mql');
    await expect(sql`update contacts set status = 'engaged' where email = 'cy@example.com'`.execute(db)).rejects.toThrow(/contacts_status_check/);
  });
});
