import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook } from '../../src/security/standard-webhooks.js';
import type { TestEngine } from '../support/engine.js';
import { eventually, startTestEngine, testConfig, writeTemplates } from '../support/engine.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';

/**
 * Bounce and complaint notices through a real listening server: `POST /v1/bounces` signed with
 * Standard Webhooks, and `POST /v1/bounces/postmark` with Postmark's own documented samples.
 */
const SEQ = `
id: hello
trigger: { event: opt_in }
steps:
  - email: welcome
  - wait: 3 days
  - email: guide
`;
const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const POSTMARK = { user: 'postmark', password: 'correct horse battery staple' };
const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/postmark');

describe('POST /v1/bounces and /v1/bounces/postmark', () => {
  let store: TestStore;
  let templatesDir: string;
  let t: TestEngine;
  let base: string;
  let n = 0;

  const db = () => store.db;
  const contact = (email: string) => db().selectFrom('contacts').selectAll().where('email', '=', email).executeTakeFirst();
  const suppressions = (email: string) => db().selectFrom('suppressions').select(['reason', 'source']).where('email', '=', email).orderBy('reason').execute();
  const events = (email: string) =>
    db().selectFrom('events').innerJoin('contacts', 'contacts.id', 'events.contact_id').select(['events.id', 'events.type', 'events.data']).where('contacts.email', '=', email).orderBy('events.seq').execute();
  const optIn = async (email: string) => {
    await t.emit({ type: 'opt_in', email });
    return eventually(async () => {
      const row = await db()
        .selectFrom('touches')
        .innerJoin('contacts', 'contacts.id', 'touches.contact_id')
        .select(['touches.id', 'touches.message_id', 'touches.status'])
        .where('contacts.email', '=', email)
        .where('touches.status', '=', 'sent')
        .executeTakeFirst();
      return row;
    }, `the welcome email to ${email} sent`);
  };

  const signed = (body: unknown, o: { id?: string; at?: number; secret?: string; raw?: string } = {}) => {
    const raw = o.raw ?? JSON.stringify(body);
    const id = o.id ?? `msg_${++n}`;
    const at = o.at ?? Math.floor(Date.now() / 1000);
    return fetch(`${base}/v1/bounces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(at), 'webhook-signature': signWebhook(o.secret ?? SECRET, id, at, raw) },
      body: raw,
    });
  };
  const postmark = (body: string, auth: string | null = `${POSTMARK.user}:${POSTMARK.password}`) =>
    fetch(`${base}/v1/bounces/postmark`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {}) },
      body,
    });

  beforeAll(async () => {
    store = await createTestStore('postgres');
    templatesDir = await writeTemplates();
    const config = testConfig({ NURTURE_WEBHOOK_SECRETS: `whsec_${Buffer.alloc(32, 9).toString('base64')}, ${SECRET}`, NURTURE_POSTMARK_WEBHOOK_AUTH: `${POSTMARK.user}:${POSTMARK.password}` });
    t = await startTestEngine({ store, sequences: [SEQ], templatesDir, http: true, config });
    base = t.engine.http!.url;
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
    await store?.cleanup();
    await rm(templatesDir, { recursive: true, force: true });
  });

  it('a signed hard bounce by Message-ID suppresses the address and bounces the contact', async () => {
    const welcome = await optIn('hb@example.com');
    const res = await signed({ type: 'bounce', bounceType: 'hard', messageId: `<${welcome.message_id}>`, reason: '550 5.1.1 user unknown', occurredAt: new Date().toISOString() });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { email: string; suppressed: string; eventId: string };
    expect(body).toMatchObject({ status: 'accepted', email: 'hb@example.com', suppressed: 'hard_bounce' });
    expect(await suppressions('hb@example.com')).toEqual([{ reason: 'hard_bounce', source: 'webhook' }]);
    await eventually(async () => (await contact('hb@example.com'))?.bounced_at, 'the contact bounced');
    const guide = await db()
      .selectFrom('touches')
      .select(['status', 'error'])
      .where('contact_id', '=', (await contact('hb@example.com'))!.id)
      .where('step_id', '=', 'guide')
      .executeTakeFirst();
    // The guide is not even made: its step is reached three days on, and skipped then; nothing pending goes out.
    expect(guide === undefined || guide.status === 'cancelled').toBe(true);
    const bounced = (await events('hb@example.com')).find((e) => e.type === 'bounced')!;
    expect(bounced.id).toBe(body.eventId);
    expect(bounced.data).toMatchObject({ notice: 'bounce', bounceType: 'hard', source: 'webhook', reason: '550 5.1.1 user unknown' });
  });

  it('a soft bounce is recorded on the contact and suppresses nothing', async () => {
    await optIn('soft@example.com');
    const res = await signed({ type: 'bounce', bounceType: 'soft', email: 'Soft@Example.com', reason: '452 4.2.2 mailbox full' });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ email: 'soft@example.com', suppressed: null });
    await eventually(async () => (await events('soft@example.com')).some((e) => e.type === 'soft_bounced'), 'the soft bounce recorded');
    expect((await contact('soft@example.com'))!.bounced_at).toBeNull();
    expect(await suppressions('soft@example.com')).toEqual([]);
  });

  it('a complaint suppresses the address and ends nurture like an unsubscribe', async () => {
    await optIn('spam@example.com');
    const res = await signed({ type: 'complaint', email: 'spam@example.com', reason: 'abuse report' });
    expect(res.status).toBe(202);
    expect((await suppressions('spam@example.com'))[0]).toEqual({ reason: 'complaint', source: 'webhook' });
    await eventually(async () => (await contact('spam@example.com'))?.unsubscribed_at, 'the contact unsubscribed');
    expect(await suppressions('spam@example.com')).toEqual([
      { reason: 'complaint', source: 'webhook' },
      { reason: 'unsubscribed', source: 'event' },
    ]);
    const enrollment = await db().selectFrom('enrollments').select(['status', 'exit_reason']).where('contact_id', '=', (await contact('spam@example.com'))!.id).executeTakeFirstOrThrow();
    expect(enrollment).toEqual({ status: 'exited', exit_reason: 'unsubscribed' });
  });

  it('refuses unsigned, wrongly signed and replayed webhooks, and applies a redelivery once', async () => {
    await optIn('dup@example.com');
    const notice = { type: 'bounce', bounceType: 'hard', email: 'dup@example.com', reason: '550 5.1.1' };
    const unsigned = await fetch(`${base}/v1/bounces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(notice) });
    expect(unsigned.status).toBe(401);
    expect(((await unsigned.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    const wrong = await signed(notice, { secret: `whsec_${Buffer.alloc(32, 1).toString('base64')}` });
    expect(wrong.status).toBe(401);
    // Signed correctly, but ten minutes ago: a captured request played again.
    const replayed = await signed(notice, { at: Math.floor(Date.now() / 1000) - 600 });
    expect(replayed.status).toBe(403);
    expect(((await replayed.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'FORBIDDEN' });
    // A body altered after signing.
    const raw = JSON.stringify(notice);
    const at = Math.floor(Date.now() / 1000);
    const altered = await fetch(`${base}/v1/bounces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'webhook-id': 'msg_alt', 'webhook-timestamp': String(at), 'webhook-signature': signWebhook(SECRET, 'msg_alt', at, raw) },
      body: raw.replace('dup@', 'other@'),
    });
    expect(altered.status).toBe(401);
    expect(await suppressions('dup@example.com')).toEqual([]);
    expect(await suppressions('other@example.com')).toEqual([]);

    const first = await signed(notice, { id: 'msg_same' });
    const again = await signed(notice, { id: 'msg_same' });
    expect([first.status, again.status]).toEqual([202, 202]);
    const ids = [((await first.json()) as { eventId: string }).eventId, ((await again.json()) as { eventId: string }).eventId];
    expect(ids[0]).toBe(ids[1]);
    await eventually(async () => (await contact('dup@example.com'))?.bounced_at, 'the contact bounced');
    // Both deliveries reached the engine; it applied the notice once.
    await eventually(async () => Object.values(await t.engine.queues.events.getJobCounts('waiting', 'active', 'delayed', 'prioritized')).every((c) => c === 0), 'the events queue drained');
    expect((await events('dup@example.com')).filter((e) => e.type === 'bounced')).toHaveLength(1);
    expect(await db().selectFrom('stage_changes').select('kind').where('contact_id', '=', (await contact('dup@example.com'))!.id).where('kind', '=', 'bounced').execute()).toHaveLength(1);
  });

  it('answers a body that does not fit with the field at fault, after checking the signature', async () => {
    const res = await signed({ type: 'bounce', email: 'x@example.com', reason: 'r' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'INPUT_INVALID', field: 'body.bounceType' } });
    const neither = await signed({ type: 'complaint', reason: 'r' });
    expect(await neither.json()).toMatchObject({ error: { code: 'INPUT_INVALID', field: 'body.email' } });
  });

  it("takes Postmark's documented bounce and spam-complaint samples, once each however often they come", async () => {
    await optIn('john@example.com');
    const bounce = await readFile(path.join(FIXTURES, 'bounce.json'), 'utf8');
    const res = await postmark(bounce);
    expect(res.status).toBe(200);
    // The ID as Postmark wrote it, not as a double rounds it (4323372036854775808).
    expect(await res.json()).toEqual({ status: 'accepted', email: 'john@example.com', suppressed: 'hard_bounce', eventId: 'bounce-postmark-Bounce-4323372036854775807' });
    expect((await postmark(bounce)).status).toBe(200);
    await eventually(async () => (await contact('john@example.com'))?.bounced_at, 'john bounced');
    const bouncedAt = (await contact('john@example.com'))!.bounced_at!;
    expect(bouncedAt.toISOString()).toBe('2019-11-05T16:33:54.907Z');

    const complaint = await readFile(path.join(FIXTURES, 'spam-complaint.json'), 'utf8');
    const c = await postmark(complaint);
    expect(c.status).toBe(200);
    expect(await c.json()).toMatchObject({ suppressed: 'complaint', eventId: 'complaint-postmark-SpamComplaint-42' });
    await eventually(async () => (await contact('john@example.com'))?.unsubscribed_at, 'john unsubscribed');
    expect(await suppressions('john@example.com')).toEqual([
      { reason: 'complaint', source: 'postmark' },
      { reason: 'hard_bounce', source: 'postmark' },
      // The complaint ends nurture as an unsubscribe, which the engine lists too (a resubscribe lifts only that one).
      { reason: 'unsubscribed', source: 'event' },
    ]);
    await eventually(async () => Object.values(await t.engine.queues.events.getJobCounts('waiting', 'active', 'delayed', 'prioritized')).every((c) => c === 0), 'the events queue drained');
    const types = (await events('john@example.com')).map((e) => e.type);
    expect(types.filter((x) => x === 'bounced')).toHaveLength(1);
    expect(types.filter((x) => x === 'unsubscribed')).toHaveLength(1);
  });

  it('refuses Postmark calls without the right credentials, and leaves other record types alone', async () => {
    const bounce = await readFile(path.join(FIXTURES, 'bounce.json'), 'utf8');
    const none = await postmark(bounce, null);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Basic');
    expect((await postmark(bounce, `${POSTMARK.user}:wrong password here`)).status).toBe(401);
    expect((await postmark(bounce, `someone:${POSTMARK.password}`)).status).toBe(401);
    const delivery = await postmark(JSON.stringify({ RecordType: 'Delivery', MessageID: 'x', Recipient: 'john@example.com' }));
    expect(delivery.status).toBe(200);
    expect(await delivery.json()).toEqual({ status: 'ignored', recordType: 'Delivery' });
    const bad = await postmark(JSON.stringify({ RecordType: 'Bounce', Type: 'HardBounce', Email: 'not an address' }));
    expect(bad.status).toBe(400);
  });
});

describe('bounce webhooks with no secret or credentials configured', () => {
  let store: TestStore;
  let templatesDir: string;
  let t: TestEngine;

  beforeAll(async () => {
    store = await createTestStore('postgres');
    templatesDir = await writeTemplates();
    t = await startTestEngine({ store, sequences: [], templatesDir, http: true, sweeper: false });
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
    await store?.cleanup();
    await rm(templatesDir, { recursive: true, force: true });
  });

  it('are off: 403 naming the setting, whatever is sent', async () => {
    const base = t.engine.http!.url;
    const raw = JSON.stringify({ type: 'complaint', email: 'a@example.com', reason: 'r' });
    const at = Math.floor(Date.now() / 1000);
    const signedRes = await fetch(`${base}/v1/bounces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'webhook-id': 'm1', 'webhook-timestamp': String(at), 'webhook-signature': signWebhook(SECRET, 'm1', at, raw) },
      body: raw,
    });
    expect(signedRes.status).toBe(403);
    expect(((await signedRes.json()) as { error: { message: string } }).error.message).toContain('NURTURE_WEBHOOK_SECRETS');
    const pm = await fetch(`${base}/v1/bounces/postmark`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${POSTMARK.user}:${POSTMARK.password}`).toString('base64')}` },
      body: '{"RecordType":"Bounce","Type":"HardBounce","Email":"a@example.com"}',
    });
    expect(pm.status).toBe(403);
    expect(((await pm.json()) as { error: { message: string } }).error.message).toContain('NURTURE_POSTMARK_WEBHOOK_AUTH');
    expect(await store.db.selectFrom('suppressions').selectAll().execute()).toEqual([]);
  });
});
