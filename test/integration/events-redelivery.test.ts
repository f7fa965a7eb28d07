import { rm } from 'node:fs/promises';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { showEvent } from '../../src/cli/events.js';
import { insertEvent } from '../../src/db/event-repository.js';
import { applyEvents } from '../../src/engine/apply-event.js';
import { EventRaceError } from '../../src/errors.js';
import type { NurtureEvent } from '../../src/sequences/event.js';
import { EVENT_JOB } from '../../src/workers/queues.js';
import type { TestEngine } from '../support/engine.js';
import { eventually, startTestEngine, testConfig, writeTemplates } from '../support/engine.js';
import { useEngineFixture } from '../support/engine-fixture.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';

/**
 * An event id is applied once. Delivered again with the same body it is a silent duplicate;
 * with another body it is a conflict: nothing of it is applied, and `nurture events failed`
 * names each difference. And an event without occurredAt is applied at the time it was received.
 */
const SEQUENCE = `
id: hello
trigger: { event: opt_in }
steps:
  - email: welcome
`;

const NOW = DateTime.fromISO('2026-06-01T12:00:00Z', { zone: 'utc' });

describe.each(['postgres', 'pglite'] as const)('redelivered events on %s', (kind) => {
  let store: TestStore;
  let templatesDir: string;
  let t: TestEngine;

  beforeAll(async () => {
    store = await createTestStore(kind);
    templatesDir = await writeTemplates();
    t = await startTestEngine({ store, sequences: [SEQUENCE], templatesDir, config: testConfig(), clock: () => NOW });
  });
  afterAll(async () => {
    await t?.stop();
    await store?.cleanup();
    if (templatesDir) await rm(templatesDir, { recursive: true, force: true });
  });

  const add = (jobId: string, data: unknown) => t.engine.queues.events.add(EVENT_JOB, data, { jobId });
  const done = (jobId: string) => eventually(async () => (await t.engine.queues.events.getJob(jobId)) === undefined, `job ${jobId} to be done with`);
  const failedOf = (eventId: string) => store.db.selectFrom('failed_events').selectAll().where('event_id', '=', eventId).orderBy('id').execute();
  const contact = (email: string) => store.db.selectFrom('contacts').selectAll().where('email', '=', email).executeTakeFirst();
  const enrollmentsOf = async (email: string) => {
    const c = await contact(email);
    return c ? store.db.selectFrom('enrollments').select('id').where('contact_id', '=', c.id).execute() : [];
  };
  const body = (id: string, email: string, o: Record<string, unknown> = {}) => ({ id, type: 'opt_in', occurredAt: '2026-06-01T11:00:00Z', contact: { email }, data: { source: 'web' }, ...o });

  it('lists a redelivered id with another contact as a conflict, naming the difference, and applies nothing of it', async () => {
    const id = `conflict-${kind}`;
    await add(`${id}-1`, body(id, `first-${kind}@example.com`));
    await done(`${id}-1`);
    await add(`${id}-2`, body(id, `second-${kind}@example.com`, { data: { source: 'ads' } }));
    await done(`${id}-2`);
    const failed = await failedOf(id);
    expect(failed.map((f) => [f.field, f.reason])).toEqual([
      [
        'contact.email',
        `event id "${id}" was applied before with another body; this delivery was not applied: ` +
          `contact.email: "first-${kind}@example.com" was stored, "second-${kind}@example.com" redelivered; data.source: "web" was stored, "ads" redelivered`,
      ],
    ]);
    expect(await contact(`second-${kind}@example.com`)).toBeUndefined();
    expect(await enrollmentsOf(`first-${kind}@example.com`)).toHaveLength(1);
    const events = await store.db.selectFrom('events').select(['id', 'data']).where('id', '=', id).execute();
    expect(events).toEqual([{ id, data: { source: 'web' } }]);
  });

  it('checks an event of the one-by-one path (a lead signal) the same way', async () => {
    const id = `conflict-lead-${kind}`;
    await add(`${id}-1`, body(id, `lead-${kind}@example.com`, { type: 'appointment_requested' }));
    await done(`${id}-1`);
    await add(`${id}-2`, body(id, `lead-${kind}@example.com`, { type: 'appointment_requested', occurredAt: '2026-06-01T11:30:00Z' }));
    await done(`${id}-2`);
    expect((await failedOf(id)).map((f) => f.reason.split(': ').slice(1).join(': '))).toEqual([
      'occurredAt: "2026-06-01T11:00:00.000Z" was stored, "2026-06-01T11:30:00.000Z" redelivered',
    ]);
    const calls = await store.db.selectFrom('tasks').innerJoin('contacts', 'contacts.id', 'tasks.contact_id').select('tasks.id').where('contacts.email', '=', `lead-${kind}@example.com`).execute();
    expect(calls).toHaveLength(1);
  });

  it('settles two deliveries of one id with different bodies in one go: one applied, one conflict', async () => {
    const id = `conflict-batch-${kind}`;
    await t.engine.queues.events.addBulk([
      { name: EVENT_JOB, data: body(id, `batch-a-${kind}@example.com`), opts: { jobId: `${id}-1` } },
      { name: EVENT_JOB, data: body(id, `batch-b-${kind}@example.com`), opts: { jobId: `${id}-2` } },
    ]);
    await done(`${id}-1`);
    await done(`${id}-2`);
    const failed = await failedOf(id);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.field).toBe('contact.email');
    const emails = (await store.db.selectFrom('contacts').select('email').where('email', 'in', [`batch-a-${kind}@example.com`, `batch-b-${kind}@example.com`]).execute()).map((c) => c.email);
    expect(emails).toHaveLength(1);
    expect(failed[0]!.reason).toContain(`"${emails[0]}" was stored`);
  });

  it('keeps an identical redelivery a silent duplicate, also when both left occurredAt out', async () => {
    const id = `same-${kind}`;
    const { occurredAt: _, ...noTime } = body(id, `same-${kind}@example.com`);
    const first = await add(`${id}-1`, noTime);
    await done(`${id}-1`);
    await add(`${id}-2`, noTime);
    await done(`${id}-2`);
    expect(await failedOf(id)).toEqual([]);
    expect(await enrollmentsOf(`same-${kind}@example.com`)).toHaveLength(1);
    // Left out, occurredAt is the time the queue received the event, and says so.
    const stored = await store.db.selectFrom('events').select(['occurred_at', 'occurred_at_defaulted']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(stored).toEqual({ occurred_at: new Date(first.timestamp), occurred_at_defaulted: true });
    const shown = await showEvent(store.db, id, { now: NOW, zone: 'UTC' });
    expect(shown.data.applied).toMatchObject({ occurredAt: new Date(first.timestamp).toISOString(), occurredAtDefaulted: true });
    expect(shown.text).toContain('(not given by the producer: the time it was received)');
  });
});

describe('an event id stored by another transaction between the check and the insert', () => {
  const f = useEngineFixture('postgres', [SEQUENCE]);
  const event = (email: string): NurtureEvent => ({ id: 'raced-1', type: 'opt_in', occurredAt: '2026-06-01T11:00:00Z', contact: { email }, data: {} });

  it('rolls the batch back and tries again, so the redelivery is then settled as a conflict', async () => {
    const db = f.store.db;
    const first = await db.insertInto('contacts').values({ email: 'raced-a@example.com', attributes: '{}', tags: '[]' }).returning('id').executeTakeFirstOrThrow();
    let applying: Promise<unknown> | undefined;
    await db.transaction().execute(async (tx) => {
      // Stored, not yet committed: the other transaction's check cannot see it, its insert waits for it.
      const e = event('raced-a@example.com');
      await insertEvent(tx, e, first.id, null);
      applying = applyEvents(f.deps, [event('raced-b@example.com')], NOW).catch((err: unknown) => err);
      await eventually(async () => {
        const { rows } = await sql<{ n: string }>`select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(db);
        return Number(rows[0]!.n) > 0;
      }, 'the other insert to wait for this transaction');
    });
    expect(await applying).toBeInstanceOf(EventRaceError);
    expect(await db.selectFrom('contacts').select('id').where('email', '=', 'raced-b@example.com').executeTakeFirst()).toBeUndefined();
    const again = await applyEvents(f.deps, [event('raced-b@example.com')], NOW);
    expect(again.map((r) => [r.status, r.conflict?.fields])).toEqual([['conflict', ['contact.email']]]);
  });
});
