import { randomBytes } from 'node:crypto';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeStats } from '../../src/cli/stats.js';
import { recordFailedEvent } from '../../src/db/event-repository.js';
import { insertIntake } from '../../src/db/intake-repository.js';
import { createLogger } from '../../src/logger.js';
import { IntakeDrainer, INTAKE_REOFFER_MS } from '../../src/workers/intake-drainer.js';
import type { Queues } from '../../src/workers/queues.js';
import { eventJobId, openQueues } from '../../src/workers/queues.js';
import { redisConnection } from '../../src/workers/redis-connection.js';
import { deleteQueueKeys } from '../support/engine.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';
import { REDIS_TEST_URL } from '../support/services.js';

/** The intake drainer against real Postgres and Redis: what it offers, when again, and what it clears. */
describe('event intake drainer', () => {
  let store: TestStore;
  let queues: Queues;
  const prefix = `t${randomBytes(5).toString('hex')}`;
  const redis = redisConnection(REDIS_TEST_URL, 'producer');

  beforeAll(async () => {
    store = await createTestStore('postgres');
    queues = openQueues(redis, prefix, { wakes: 4, sends: 4 });
  });
  afterAll(async () => {
    await queues?.close();
    await deleteQueueKeys(redis, prefix);
    redis.disconnect();
    await store?.cleanup();
  });

  const event = (id: string) => ({ id, payload: { id, type: 'opt_in', contact: { email: `${id}@example.com` }, data: {} } });
  const job = (id: string) => queues.events.getJob(eventJobId(id));
  const T0 = Date.parse('2026-12-02T10:00:00Z');

  it('offers what waits, offers it again only when it stayed unapplied, and clears what was applied or rejected', async () => {
    const drainer = new IntakeDrainer(store.db, queues, { intervalMs: 1000, log: createLogger('silent') });
    await insertIntake(store.db, [event('a'), event('b'), event('c')], { source: 'api', at: new Date(T0) });
    // Committed at T0 and (as `accept` does) counted as offered then: not offered again before the re-offer time.
    expect(await drainer.drainOnce(T0 + 1000)).toEqual({ settled: 0, offered: 0 });
    expect(await drainer.drainOnce(T0 + INTAKE_REOFFER_MS + 1)).toEqual({ settled: 0, offered: 3 });
    const j = await job('a');
    expect(j?.data).toEqual(event('a').payload);
    // The time received, for an event that gives no occurredAt.
    expect(j?.timestamp).toBe(T0);

    // a applied, b rejected: both leave; c is offered again later.
    await store.db.insertInto('contacts').values({ email: 'a@example.com', attributes: '{}', tags: '[]' }).execute();
    const contact = await store.db.selectFrom('contacts').select('id').where('email', '=', 'a@example.com').executeTakeFirstOrThrow();
    await store.db.insertInto('events').values({ id: 'a', contact_id: contact.id, type: 'opt_in', occurred_at: new Date(T0), data: '{}' }).execute();
    await recordFailedEvent(store.db, { eventId: 'b', jobId: undefined, field: 'contact.id', reason: 'no contact', payload: {} });
    const stats = await computeStats(store.db, { now: DateTime.fromMillis(T0 + 2 * INTAKE_REOFFER_MS + 2), zone: 'UTC' });
    expect(stats.data.intake).toEqual({ waiting: 3, oldestAt: new Date(T0).toISOString() });
    expect(stats.text).toMatch(/^Received, not yet applied\s+3 event\(s\) in the intake, the oldest received/m);
    // c's job still waits in the queue: not offered again.
    expect(await drainer.drainOnce(T0 + 2 * INTAKE_REOFFER_MS + 2)).toEqual({ settled: 2, offered: 0 });
    const left = await store.db.selectFrom('event_intake').select('id').execute();
    expect(left.map((r) => r.id)).toEqual(['c']);
    // Its job lost (Redis kept its marker, not the job): offered again once the re-offer time is past.
    await (await job('c'))!.remove();
    expect(await drainer.drainOnce(T0 + 2 * INTAKE_REOFFER_MS + 10)).toEqual({ settled: 0, offered: 0 });
    expect(await drainer.drainOnce(T0 + 3 * INTAKE_REOFFER_MS + 3)).toEqual({ settled: 0, offered: 1 });
    expect(await job('c')).toBeDefined();
  });

  it('offers everything at once when Redis lost its data', async () => {
    const drainer = new IntakeDrainer(store.db, queues, { intervalMs: 1000, log: createLogger('silent') });
    await store.db.deleteFrom('event_intake').execute();
    await insertIntake(store.db, [event('d')], { source: 'api', at: new Date(T0) });
    await drainer.drainOnce(T0 + 10);
    await deleteQueueKeys(redis, prefix);
    expect(await drainer.drainOnce(T0 + 20)).toEqual({ settled: 0, offered: 1 });
    expect(await job('d')).toBeDefined();
  });

  it('keeps a webhook id once: a replay writes nothing', async () => {
    expect(await insertIntake(store.db, [event('w1')], { source: 'webhook', at: new Date(T0), webhookId: 'msg_1' })).toEqual({ replay: false });
    expect(await insertIntake(store.db, [event('w2')], { source: 'webhook', at: new Date(T0), webhookId: 'msg_1' })).toEqual({ replay: true });
    const ids = (await store.db.selectFrom('event_intake').select('id').where('id', 'in', ['w1', 'w2']).execute()).map((r) => r.id);
    expect(ids).toEqual(['w1']);
  });
});
