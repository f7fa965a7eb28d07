import { rm } from 'node:fs/promises';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyEvents } from '../../src/engine/apply-event.js';
import { legacySendJobId, legacyWakeJobId, wakeMemberId } from '../../src/workers/queues.js';
import { addMarkedJobs, markJobs, notQueued, offerJobs, settleMembers } from '../../src/workers/queued-work.js';
import { scheduleAfterCommit } from '../../src/workers/schedule.js';
import type { TestEngine } from '../support/engine.js';
import { TEST_TEMPLATES, eventually, startTestEngine, writeTemplates } from '../support/engine.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';

/**
 * Wake-ups and sends travel many to a job, with a marker per item naming its job (what the
 * sweeper checks before offering work again). A job whose items partly fail keeps only the
 * failed ones for its retry: the others ran once and are not carried again.
 */
const GOOD = `
id: good
trigger: { event: opt_in, where: { source: good } }
steps:
  - wait: 1 hour
  - email: welcome
  - wait: 30 days
`;
const BAD = `
id: bad
trigger: { event: opt_in, where: { source: bad } }
steps:
  - wait: 1 hour
  - postcard: broken
  - wait: 30 days
`;
const T0 = DateTime.fromISO('2026-12-02T09:00:00Z', { zone: 'utc' });

describe('jobs of many wake-ups and sends', () => {
  let store: TestStore;
  let templatesDir: string;
  let t: TestEngine;
  let now = T0;

  beforeAll(async () => {
    store = await createTestStore('postgres');
    // The postcard's helper does not exist: its wake-up fails at every try.
    templatesDir = await writeTemplates({ ...TEST_TEMPLATES, broken: '---\nsubject: Postcard\n---\n<p>{{shout firstName}}</p>\n' });
    t = await startTestEngine({ store, sequences: [GOOD, BAD], templatesDir, sweeper: false, workers: { events: false, wakes: true, sends: false }, clock: () => now });
  });
  afterAll(async () => {
    await t?.stop();
    await store?.cleanup();
    if (templatesDir) await rm(templatesDir, { recursive: true, force: true });
  });

  it('marks what each job carries, and tells what no live job carries any more', async () => {
    const q = t.engine.queues.sends;
    const notIn = (members: string[]) => notQueued(q, members, legacySendJobId);
    // An hour ahead, and no send worker here: the jobs stay queued.
    expect(await offerJobs(q, [{ name: 'sends', data: { sends: [{ touchId: 'a' }, { touchId: 'b' }] }, opts: { delay: 3_600_000 }, members: ['a', 'b'] }])).toBe(2);
    expect(await notIn(['a', 'b', 'c'])).toEqual(new Set(['c']));
    const [job] = await q.getJobs(['delayed']);
    // Queued again elsewhere: the old job's settling leaves that marker alone.
    await offerJobs(q, [{ name: 'sends', data: { sends: [{ touchId: 'b' }] }, opts: { delay: 3_600_000 }, members: ['b'] }]);
    await settleMembers(q, job!.id, ['a', 'b']);
    expect(await notIn(['a', 'b'])).toEqual(new Set(['a']));
    // A job that is gone (removed, lost with Redis): what it carried is not queued, once the
    // grace for a job still on its way is over (0 here: the grace is the next test's).
    for (const j of await q.getJobs(['delayed'])) await j.remove();
    expect(await notQueued(q, ['a', 'b'], legacySendJobId, 0)).toEqual(new Set(['a', 'b']));
  });

  it('counts an item as queued while its job is on its way, and not once the job is added and gone', async () => {
    const q = t.engine.queues.sends;
    // Marked, not added yet (what a retry does around its commit): a sweep now must not queue it again.
    const [planned] = await markJobs(q, [{ name: 'sends', data: { sends: [{ touchId: 'w' }] }, opts: { delay: 3_600_000 }, members: ['w'] }]);
    expect(await notQueued(q, ['w'], legacySendJobId)).toEqual(new Set());
    // A crash before the job was added: past the grace, the item is offered again.
    expect(await notQueued(q, ['w'], legacySendJobId, 0)).toEqual(new Set(['w']));
    await addMarkedJobs(q, [planned!]);
    expect(await notQueued(q, ['w'], legacySendJobId, 0)).toEqual(new Set());
    for (const j of await q.getJobs(['delayed'])) await j.remove();
  });

  it('counts a failed job kept in Redis as not live, and knows the one-item jobs of earlier releases', async () => {
    const q = t.engine.queues.sends;
    // A worker of this test's own fails the job at its one try; BullMQ keeps it as failed.
    const connection = new Redis(t.config.redisUrl!, { maxRetriesPerRequest: null });
    const oneTry = new Queue(q.name, { connection, prefix: t.config.queuePrefix, defaultJobOptions: { attempts: 1 } });
    const failing = new Worker(q.name, async () => Promise.reject(new Error('gave up')), { connection, prefix: t.config.queuePrefix });
    try {
      await offerJobs(oneTry, [{ name: 'sends', data: { sends: [{ touchId: 'f' }] }, opts: { delay: 0 }, members: ['f'] }]);
      await eventually(async () => (await q.getJobCounts('failed')).failed === 1, 'the job failed');
    } finally {
      await failing.close();
      await oneTry.close();
      connection.disconnect();
    }
    expect(await notQueued(q, ['f'], legacySendJobId)).toEqual(new Set(['f'])); // failed: no grace, it was added
    // What an earlier release queued, one email per job under its deterministic id, is not queued again.
    await q.add('send', { touchId: '00000000-0000-4000-8000-00000000000a' }, { jobId: legacySendJobId('00000000-0000-4000-8000-00000000000a'), delay: 3_600_000 });
    expect(await notQueued(q, ['00000000-0000-4000-8000-00000000000a', 'g'], legacySendJobId)).toEqual(new Set(['g']));
    for (const j of await q.getJobs(['delayed', 'failed'])) await j.remove();
  });

  it('retries only the wake-ups of a job that failed, once the others ran', async () => {
    await applyEvents(
      t.engine.deps,
      [
        { id: 'bj-good', type: 'opt_in', occurredAt: T0.toISO()!, contact: { email: 'good@example.com' }, data: { source: 'good' } },
        { id: 'bj-bad', type: 'opt_in', occurredAt: T0.toISO()!, contact: { email: 'bad@example.com' }, data: { source: 'bad' } },
      ],
      T0,
    );
    const rows = await store.db.selectFrom('enrollments').select(['id', 'sequence_id', 'wake_version', 'next_wake_at']).execute();
    const good = rows.find((r) => r.sequence_id === 'good')!;
    const bad = rows.find((r) => r.sequence_id === 'bad')!;
    now = T0.plus({ hours: 1, minutes: 1 });
    // Both due at the same instant: one job carries them.
    const wakes = [good, bad].map((e) => ({ enrollmentId: e.id, version: e.wake_version, at: e.next_wake_at! }));
    await scheduleAfterCommit(t.engine.queues, { sends: [], wakes }, now.toMillis(), 120_000);

    const retried = await eventually(async () => {
      const [job] = await t.engine.queues.wakes.getJobs(['delayed']);
      return job;
    }, 'the job held back for its retry');
    expect((retried.data as { wakeUps: { enrollmentId: string }[] }).wakeUps.map((w) => w.enrollmentId)).toEqual([bad.id]);
    expect(retried.attemptsMade).toBe(1);
    expect(retried.failedReason).toMatch(/1 of 2 wake-ups failed \(first: .*broken/);

    const touches = await store.db.selectFrom('touches').select(['enrollment_id', 'step_id']).execute();
    expect(touches).toEqual([{ enrollment_id: good.id, step_id: 'welcome' }]);
    const after = await store.db.selectFrom('enrollments').select(['id', 'failures', 'wake_version']).where('id', 'in', [good.id, bad.id]).execute();
    expect(after.find((e) => e.id === good.id)).toMatchObject({ failures: 0, wake_version: good.wake_version + 1 });
    expect(after.find((e) => e.id === bad.id)).toMatchObject({ failures: 1, wake_version: bad.wake_version });
    // The one that ran is done with; the one that failed is still carried.
    const members = [wakeMemberId({ enrollmentId: good.id, version: good.wake_version }), wakeMemberId({ enrollmentId: bad.id, version: bad.wake_version })];
    expect(await notQueued(t.engine.queues.wakes, members, legacyWakeJobId)).toEqual(new Set([members[0]]));
  });

  it('still runs a one-item wake-up job queued by an earlier release', async () => {
    now = T0.plus({ hours: 1, minutes: 1 });
    await applyEvents(t.engine.deps, [{ id: 'bj-old', type: 'opt_in', occurredAt: T0.toISO()!, contact: { email: 'old@example.com' }, data: { source: 'good' } }], T0);
    const e = await store.db
      .selectFrom('enrollments')
      .innerJoin('contacts', 'contacts.id', 'enrollments.contact_id')
      .select(['enrollments.id', 'wake_version'])
      .where('email', '=', 'old@example.com')
      .executeTakeFirstOrThrow();
    // The job as the earlier release added it: its name, its payload, its deterministic id.
    await t.engine.queues.wakes.add('wake', { enrollmentId: e.id, version: e.wake_version }, { jobId: legacyWakeJobId(wakeMemberId({ enrollmentId: e.id, version: e.wake_version })) });
    const touch = await eventually(() => store.db.selectFrom('touches').select('step_id').where('enrollment_id', '=', e.id).executeTakeFirst(), 'the old job ran');
    expect(touch.step_id).toBe('welcome');
  });
});
