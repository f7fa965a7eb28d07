import { rm } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';
import type { TestEngine } from '../support/engine.js';
import { eventually, startTestEngine, testConfig, writeTemplates } from '../support/engine.js';
import { REDIS_TEST_URL } from '../support/services.js';
import type { TestSmtp } from '../support/smtp.js';
import { startTestSmtp } from '../support/smtp.js';

/**
 * The engine against real services: PostgreSQL (and PGlite), Redis with a private queue prefix,
 * and a real SMTP server that counts what arrives. Waits are seconds long, so the whole life of
 * a short sequence runs in real time here; months are covered by the pure unit tests.
 */
const FAST = `
id: fast
trigger: { event: opt_in, where: { source: website } }
exit: [ { event: unsubscribed } ]
steps:
  - email: welcome
  - wait: 2 seconds
  - email: guide
  - postcard: postcard
  - wait: 2 seconds
  - call: { note: "Intro call", due: 1 day }
  - wait: 6 months
  - email: monthly
`;

describe.each(['postgres', 'pglite'] as const)('engine on %s', (kind) => {
  let store: TestStore;
  let smtp: TestSmtp;
  let templatesDir: string;
  let t: TestEngine;

  beforeAll(async () => {
    store = await createTestStore(kind);
    smtp = await startTestSmtp();
    templatesDir = await writeTemplates();
    // A Redis database of its own, so the flush test can really flush it without touching the
    // other test files (they use database 0).
    const redisDb = 1 + Math.floor(Math.random() * 15);
    t = await startTestEngine({ store, sequences: [FAST], templatesDir, config: testConfig({ SMTP_URL: smtp.url, REDIS_URL: `${REDIS_TEST_URL}/${redisDb}` }) });
  });
  afterAll(async () => {
    await t?.stop();
    await smtp?.close();
    await store?.cleanup();
    if (templatesDir) await rm(templatesDir, { recursive: true, force: true });
  });
  afterEach(() => {
    smtp.received.length = 0;
  });

  const contactRow = (email: string) => store.db.selectFrom('contacts').selectAll().where('email', '=', email).executeTakeFirst();
  const mailsTo = (email: string) => smtp.received.filter((m) => m.to === email);

  it('takes an opt-in through the whole sequence: emails, postcard task, call task, then a 6-month wait held only in Postgres', async () => {
    const email = `ann-${kind}@example.com`;
    await t.emit({ type: 'opt_in', contact: { email, firstName: 'Ann', phone: '+15555550100' }, data: { source: 'website' } });
    await eventually(async () => mailsTo(email).length >= 2, 'two emails');
    const contact = (await contactRow(email))!;
    expect(contact.first_name).toBe('Ann');
    expect(mailsTo(email).map((m) => m.subject)).toEqual(['Welcome Ann', 'Your guide']);

    const tasks = await eventually(async () => {
      const rows = await store.db.selectFrom('tasks').selectAll().where('contact_id', '=', contact.id).orderBy('id').execute();
      return rows.length === 2 ? rows : undefined;
    }, 'postcard and call tasks');
    expect(tasks.map((x) => x.kind)).toEqual(['postcard', 'call']);
    expect(tasks[0]!.content).toMatchObject({ html: expect.stringContaining('Dear Ann') });
    expect(tasks[1]).toMatchObject({ phone: '+15555550100', note: 'Intro call', priority: 'normal' });

    const enrollment = await eventually(async () => {
      const e = await store.db.selectFrom('enrollments').selectAll().where('contact_id', '=', contact.id).executeTakeFirst();
      return e?.step_id === 'call-wait' ? e : undefined;
    }, 'the 6-month wait');
    const sixMonths = enrollment.next_wake_at!.getTime() - Date.now();
    expect(sixMonths).toBeGreaterThan(150 * 24 * 3600 * 1000);
    // The far wake-up is not in Redis: only work within the horizon is.
    await t.engine.sweeper!.sweepOnce(Date.now());
    const delayed = await t.engine.queues.wakes.getDelayed();
    expect(delayed.filter((j) => j.data.enrollmentId === enrollment.id)).toEqual([]);

    // Touches made in one transaction share their created_at: the step id breaks the tie (the order of a scan is no order).
    const touches = await store.db.selectFrom('touches').select(['step_id', 'status']).where('contact_id', '=', contact.id).orderBy('created_at').orderBy('step_id').execute();
    expect(touches).toEqual([
      { step_id: 'welcome', status: 'sent' },
      { step_id: 'guide', status: 'sent' },
      { step_id: 'postcard', status: 'done' },
      { step_id: 'call', status: 'done' },
    ]);
  });

  it('applies the same event id once', async () => {
    const email = `dup-${kind}@example.com`;
    const id = `dup-${kind}-1`;
    await t.emit({ id, type: 'opt_in', email, data: { source: 'website' } });
    await t.emit({ id, type: 'opt_in', email, data: { source: 'website' } });
    await eventually(async () => mailsTo(email).length >= 1, 'welcome');
    await eventually(async () => (await t.engine.queues.events.getJobCounts('waiting', 'active', 'delayed')).waiting === 0, 'queue drained');
    const c = (await contactRow(email))!;
    const enrollments = await store.db.selectFrom('enrollments').select('id').where('contact_id', '=', c.id).execute();
    expect(enrollments).toHaveLength(1);
    const events = await store.db.selectFrom('events').select('id').where('contact_id', '=', c.id).execute();
    expect(events).toEqual([{ id }]);
    expect(mailsTo(email)).toHaveLength(1);
  });

  it('rejects a bad event with the field named, keeps it for operators, and keeps working', async () => {
    await t.emitRaw({ id: 'bad-1', type: 'opt_in', occurredAt: 'yesterday', contact: { email: 'x@example.com' } });
    await t.emitRaw({ id: 'bad-2', type: 'opt_in', occurredAt: new Date().toISOString(), contact: { firstName: 'NoEmail' } });
    await t.emitRaw({ id: 'bad-3', type: 'opt_in', occurredAt: new Date().toISOString(), contact: { email: 'big@example.com' }, data: { blob: 'x'.repeat(70_000) } });
    const email = `after-bad-${kind}@example.com`;
    await t.emit({ type: 'opt_in', email, data: { source: 'website' } });
    await eventually(async () => mailsTo(email).length >= 1, 'a good event after bad ones');
    const failed = await store.db.selectFrom('failed_events').selectAll().where('event_id', 'in', ['bad-1', 'bad-2', 'bad-3']).orderBy('event_id').execute();
    expect(failed.map((f) => [f.event_id, f.field])).toEqual([
      ['bad-1', 'occurredAt'],
      ['bad-2', 'contact.email'],
      ['bad-3', ''],
    ]);
    expect(failed[0]!.reason).toContain('occurredAt');
    expect(failed[1]!.reason).toContain('contact.email is required');
    expect(failed[2]!.reason).toContain('limit is 65536');
  });

  it('stops every send at once on unsubscribe', async () => {
    const email = `unsub-${kind}@example.com`;
    await t.emit({ type: 'opt_in', email, data: { source: 'website' } });
    await eventually(async () => mailsTo(email).length >= 1, 'welcome');
    await t.emit({ type: 'unsubscribed', email });
    const c = await eventually(async () => {
      const row = await contactRow(email);
      return row?.unsubscribed_at ? row : undefined;
    }, 'unsubscribe applied');
    // Longer than the 2-second wait: the guide would have gone out by now.
    await new Promise((r) => setTimeout(r, 3000));
    expect(mailsTo(email).map((m) => m.subject)).toEqual(['Welcome friend']);
    const e = await store.db.selectFrom('enrollments').selectAll().where('contact_id', '=', c.id).executeTakeFirstOrThrow();
    expect(e).toMatchObject({ status: 'exited', exit_reason: 'unsubscribed', next_wake_at: null });
  });

  it('promotes on appointment_requested: nurture ends and sales gets a high-priority call due within the hour', async () => {
    const email = `lead-${kind}@example.com`;
    await t.emit({ type: 'opt_in', contact: { email, firstName: 'Lee', phone: '+15555550111' }, data: { source: 'website' } });
    await eventually(async () => mailsTo(email).length >= 1, 'welcome');
    const before = Date.now();
    await t.emit({ type: 'appointment_requested', email, data: { slot: 'tomorrow 10:00' } });
    const c = await eventually(async () => {
      const row = await contactRow(email);
      return row?.status === 'lead' ? row : undefined;
    }, 'promotion');
    expect(c.promotion_reason).toBe('event:appointment_requested');
    const e = await store.db.selectFrom('enrollments').selectAll().where('contact_id', '=', c.id).executeTakeFirstOrThrow();
    expect(e).toMatchObject({ status: 'exited', exit_reason: 'promoted' });
    const tasks = await store.db.selectFrom('tasks').selectAll().where('contact_id', '=', c.id).where('priority', '=', 'high').execute();
    expect(tasks).toHaveLength(1);
    expect(tasks[0]!.kind).toBe('call');
    expect(tasks[0]!.due_at.getTime()).toBeLessThanOrEqual(before + 3600_000 + 60_000);
    expect(tasks[0]!.history).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'appointment_requested' })]));
    await new Promise((r) => setTimeout(r, 3000));
    expect(mailsTo(email)).toHaveLength(1);
  });

  it('recovers from a Redis FLUSHALL mid-run: due work comes back from Postgres', async () => {
    const email = `flush-${kind}@example.com`;
    await t.emit({ type: 'opt_in', email, data: { source: 'website' } });
    await eventually(async () => mailsTo(email).length >= 1, 'welcome');
    // Everything in Redis goes (FLUSHDB on this file's own database; FLUSHALL would also wipe the
    // test files running in parallel): the queued wake-up for the 2-second wait too.
    expect(await t.redis.dbsize()).toBeGreaterThan(0);
    await t.redis.flushdb();
    await eventually(async () => mailsTo(email).length >= 2, 'guide after the flush', 30_000);
    expect(mailsTo(email).map((m) => m.subject)).toEqual(['Welcome friend', 'Your guide']);
  });
});
