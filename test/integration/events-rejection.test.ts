import { rm } from 'node:fs/promises';
import type { Job } from 'bullmq';
import { sql } from 'kysely';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_JOB } from '../../src/workers/queues.js';
import type { TestEngine } from '../support/engine.js';
import { eventually, startTestEngine, testConfig, writeTemplates } from '../support/engine.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';

/**
 * The rejection path against real Redis and PostgreSQL: whatever a producer puts on the queue,
 * a bad event lands in failed_events on first sight with its reason, is never retried, and
 * recording the rejection cannot fail for the reason the event did.
 */
const SEQUENCE = `
id: hello
trigger: { event: opt_in }
steps:
  - email: welcome
`;

/** The engine's clock: fixed, and hours away from the real time, so the skew test proves which clock judged. */
const NOW = DateTime.fromISO('2026-06-01T12:00:00Z', { zone: 'utc' });

describe('rejected events', () => {
  let store: TestStore;
  let templatesDir: string;
  let t: TestEngine;

  beforeAll(async () => {
    store = await createTestStore('postgres');
    templatesDir = await writeTemplates();
    t = await startTestEngine({ store, sequences: [SEQUENCE], templatesDir, config: testConfig(), clock: () => NOW });
  });
  afterAll(async () => {
    await t?.stop();
    await store?.cleanup();
    if (templatesDir) await rm(templatesDir, { recursive: true, force: true });
  });

  const failedOf = (jobId: string) => store.db.selectFrom('failed_events').selectAll().where('job_id', '=', jobId).orderBy('id').execute();
  const rejection = async (jobId: string) => {
    const rows = await eventually(async () => {
      const r = await failedOf(jobId);
      return r.length > 0 ? r : undefined;
    }, `the rejection of job ${jobId}`);
    // Done with on first sight: the job is gone from the queue, not delayed for another try.
    await eventually(async () => (await t.engine.queues.events.getJob(jobId)) === undefined, `job ${jobId} to be done with`);
    expect(await failedOf(jobId)).toHaveLength(1);
    return rows[0]!;
  };
  const event = (id: string, o: Record<string, unknown> = {}) => ({
    id,
    type: 'opt_in',
    occurredAt: NOW.toISO(),
    contact: { email: `${id.replace(/[^a-z0-9-]/gi, '')}@example.com` },
    data: {},
    ...o,
  });
  /** A job whose `data` field in Redis is exactly `text`, as a producer outside Node might write it. */
  const rawJob = async (jobId: string, text: string): Promise<Job> => {
    const job = await t.engine.queues.events.add(EVENT_JOB, {}, { jobId, delay: 3_600_000 });
    await t.redis.hset(`${t.config.queuePrefix}:${t.engine.queues.events.name}:${jobId}`, 'data', text);
    await job.promote();
    return job;
  };
  const appliedIds = async (ids: string[]) =>
    (await store.db.selectFrom('events').select('id').where('id', 'in', ids).orderBy('id').execute()).map((r) => r.id);

  it('rejects a job whose data is a bare string at first sight', async () => {
    await t.engine.queues.events.add(EVENT_JOB, 'ann@example.com opted in', { jobId: 'job-bare-string' });
    const f = await rejection('job-bare-string');
    expect(f.reason).toBe('payload is not valid JSON: "ann@example.com opted in"');
    expect(f.payload).toBe('ann@example.com opted in');
  });

  it('rejects a job whose data in Redis is not JSON at first sight, instead of stalling it 100 times', async () => {
    await rawJob('job-not-json', '{"id": "x1", oops');
    const f = await rejection('job-not-json');
    expect(f.reason).toMatch(/^job data is not JSON: /);
    expect(f.payload).toBe('{"id": "x1", oops');
  });

  it('records an event whose id holds a NUL byte, with the NUL escaped, once', async () => {
    await t.emitRaw(event('nul\u0000id'), 'job-nul-id');
    const f = await rejection('job-nul-id');
    expect(f.event_id).toBe('nul\\u0000id');
    expect(f.field).toBe('id');
    expect(f.reason).toContain('id: "nul\\u0000id" contains a NUL character');
  });

  it('records a payload 20,000 arrays deep, bounded, once', async () => {
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    await rawJob('job-deep', `{"id":"deep-1","type":"opt_in","contact":{"email":"deep@example.com"},"data":{"a":${deep}}}`);
    const f = await rejection('job-deep');
    expect(f.event_id).toBe('deep-1');
    expect(f.field).toBe('data.a[0][0][0][0][0][0][0][0]');
    expect(f.reason).toContain('nested deeper than 8 levels');
    expect(f.payload.length).toBeLessThanOrEqual(4096);
  });

  it('refuses what PostgreSQL would refuse (NUL, lone surrogate, year 0000) naming the field, once each', async () => {
    await t.emitRaw(event('pg-nul', { contact: { email: 'pg-nul@example.com', firstName: 'A\u0000n' } }), 'job-pg-nul');
    await t.emitRaw(event('pg-surrogate', { data: { note: 'x\ud800y' } }), 'job-pg-surrogate');
    await t.emitRaw(event('pg-year0', { occurredAt: '0000-01-01T00:00:00Z' }), 'job-pg-year0');
    expect([await rejection('job-pg-nul'), await rejection('job-pg-surrogate'), await rejection('job-pg-year0')].map((f) => [f.field, f.reason])).toEqual([
      ['contact.firstName', 'contact.firstName: "A\\u0000n" contains a NUL character, which cannot be stored'],
      ['data.note', 'data.note: "x\\ud800y" contains a lone surrogate (\\ud800), which is not valid Unicode'],
      ['occurredAt', 'occurredAt: "0000-01-01T00:00:00Z" has the year 0000, which does not exist (PostgreSQL cannot store it)'],
    ]);
    expect(await appliedIds(['pg-nul', 'pg-surrogate', 'pg-year0'])).toEqual([]);
  });

  it('refuses __proto__ keys and data nested too deep, naming the path', async () => {
    await t.emitRaw(JSON.parse('{"id":"proto-1","type":"opt_in","occurredAt":"2026-06-01T11:00:00Z","contact":{"email":"proto@example.com"},"data":{"__proto__":{"admin":true}}}'), 'job-proto');
    await t.emitRaw(
      JSON.parse('{"id":"proto-2","type":"opt_in","occurredAt":"2026-06-01T11:00:00Z","contact":{"email":"proto2@example.com","attributes":{"x":{"__proto__":1}}}}'),
      'job-proto-attr',
    );
    await t.emitRaw(event('nested-1', { data: { a: { b: { c: { d: { e: { f: { g: { h: { i: 1 } } } } } } } } } }), 'job-nested');
    expect([await rejection('job-proto'), await rejection('job-proto-attr'), await rejection('job-nested')].map((f) => [f.field, f.reason])).toEqual([
      ['data.__proto__', 'data.__proto__: key not allowed'],
      ['contact.attributes.x.__proto__', 'contact.attributes.x.__proto__: key not allowed'],
      ['data.a.b.c.d.e.f.g.h.i', 'data.a.b.c.d.e.f.g.h.i: nested deeper than 8 levels'],
    ]);
  });

  it('refuses an occurredAt beyond the allowed future skew, judged by the engine clock', async () => {
    await t.emitRaw(event('skew-ok', { occurredAt: NOW.plus({ minutes: 4 }).toISO() }), 'job-skew-ok');
    await t.emitRaw(event('skew-far', { occurredAt: NOW.plus({ minutes: 10 }).toISO() }), 'job-skew-far');
    await t.emitRaw(event('skew-2099', { occurredAt: '2099-01-01T00:00:00Z' }), 'job-skew-2099');
    const far = await rejection('job-skew-far');
    expect(far.field).toBe('occurredAt');
    expect(far.reason).toBe('occurredAt: "2026-06-01T12:10:00.000Z" is 10 minutes ahead of the time it was received (2026-06-01T12:00:00.000Z); at most 5 minutes is allowed (NURTURE_MAX_FUTURE_SKEW)');
    expect((await rejection('job-skew-2099')).reason).toContain('"2099-01-01T00:00:00Z" is 72.6 years ahead');
    await eventually(async () => (await appliedIds(['skew-ok'])).length === 1, 'the event 4 minutes ahead to apply');
  });

  it('classes a database data error as permanent: only the bad event is rejected, the rest of its batch applies', async () => {
    await sql`alter table contacts add constraint refuse_one check (email <> 'refused@example.com')`.execute(store.db);
    try {
      const ids = ['batch-a', 'batch-b', 'batch-refused', 'batch-c', 'batch-d'];
      await t.engine.queues.events.addBulk(
        ids.map((id) => ({
          name: EVENT_JOB,
          data: event(id, id === 'batch-refused' ? { contact: { email: 'refused@example.com' } } : {}),
          opts: { jobId: `job-${id}` },
        })),
      );
      const f = await rejection('job-batch-refused');
      expect(f.event_id).toBe('batch-refused');
      expect(f.reason).toContain('PostgreSQL refused the event (SQLSTATE 23514');
      await eventually(async () => (await appliedIds(ids)).length === 4, 'the other four events to apply');
      expect(await appliedIds(ids)).toEqual(['batch-a', 'batch-b', 'batch-c', 'batch-d']);
    } finally {
      await sql`alter table contacts drop constraint refuse_one`.execute(store.db);
    }
  });

  it('gives up recording a rejection after its last try: the job is left failed in BullMQ, not retried for ever', async () => {
    // PostgreSQL refuses every rejection, as it would if failed_events could not be written at all.
    await sql`alter table failed_events add constraint refuse_all check (false) not valid`.execute(store.db);
    try {
      const job = await t.engine.queues.events.add(EVENT_JOB, 'not an event', { jobId: 'job-last-try', delay: 3_600_000 });
      // As if it had been tried 24 times already.
      await t.redis.hset(`${t.config.queuePrefix}:${t.engine.queues.events.name}:job-last-try`, 'ats', '24');
      await job.promote();
      const state = await eventually(async () => {
        const s = await t.engine.queues.events.getJobState('job-last-try');
        return s === 'failed' || s === 'completed' ? s : undefined;
      }, 'the job to be given up');
      expect(state).toBe('failed');
      const failed = await t.engine.queues.events.getJob('job-last-try');
      expect(failed?.failedReason).toMatch(/^could not record the rejection of this event after 25 tries: /);
    } finally {
      await sql`alter table failed_events drop constraint refuse_all`.execute(store.db);
    }
    expect(await failedOf('job-last-try')).toEqual([]);
  });
});
