import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestEngine } from '../support/engine.js';
import { eventually, startTestEngine, testConfig, writeTemplates } from '../support/engine.js';
import { API_KEY, OLD_WEBHOOK_SECRET, OTHER_API_KEY, WEBHOOK_SECRET, optIn, postEvents, webhookHeaders } from '../support/http-events.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';

const WELCOME = `
id: welcome-seq
trigger: { event: opt_in }
steps:
  - email: welcome
  - wait: 6 months
  - email: guide
`;

/** POST /v1/events through a real listening server: credentials, validation, limits, the intake. */
describe('POST /v1/events', () => {
  let store: TestStore;
  let templatesDir: string;
  let t: TestEngine;
  let base: string;

  beforeAll(async () => {
    store = await createTestStore('postgres');
    templatesDir = await writeTemplates();
    t = await startTestEngine({
      store,
      sequences: [WELCOME],
      templatesDir,
      http: true,
      config: testConfig({
        NURTURE_API_KEYS: `${API_KEY},${OTHER_API_KEY}`,
        NURTURE_WEBHOOK_SECRETS: `${WEBHOOK_SECRET},${OLD_WEBHOOK_SECRET}`,
        NURTURE_HTTP_BODY_LIMIT: String(256 * 1024),
      }),
    });
    base = t.engine.http!.url;
  });

  afterAll(async () => {
    await t?.stop();
    await store?.cleanup();
    await rm(templatesDir, { recursive: true, force: true });
  });

  const applied = (id: string) => store.db.selectFrom('events').selectAll().where('id', '=', id).executeTakeFirst();
  const waiting = async (ids: string[]) =>
    ids.length === 0 ? [] : (await store.db.selectFrom('event_intake').select('id').where('id', 'in', ids).execute()).map((r) => r.id);
  const failed = (id: string) => store.db.selectFrom('failed_events').selectAll().where('event_id', '=', id).execute();

  it('takes one event with a bearer key, answers 202 with its id, applies it and drains the intake', async () => {
    const e = optIn('one@example.com');
    const res = await postEvents(base, e, { key: API_KEY });
    expect(res).toEqual({ status: 202, body: { accepted: [e.id], replay: false } });
    const row = await eventually(() => applied(e.id as string), 'the event applied');
    expect(row.type).toBe('opt_in');
    await eventually(async () => (await waiting([e.id as string])).length === 0, 'the intake row removed once applied');
  });

  it('takes a batch whole, and an id repeated with the same body as one event', async () => {
    const events = [optIn('b1@example.com'), optIn('b2@example.com'), optIn('b3@example.com')];
    const res = await postEvents(base, [...events, events[0]], { key: OTHER_API_KEY });
    expect(res.status).toBe(202);
    expect(res.body.accepted).toEqual(events.map((e) => e.id));
    for (const e of events) await eventually(() => applied(e.id as string), `event ${String(e.id)} applied`);
  });

  it('refuses a batch with bad items as a whole, naming every bad item by index, id and field', async () => {
    const good = optIn('good@example.com');
    const badEmail = optIn('not-an-email');
    const badType = optIn('x@example.com', { type: 'Opt In' });
    const sameIdOtherBody = { ...good, data: { source: 'other' } } as Record<string, unknown>;
    const res = await postEvents(base, [good, badEmail, 'text', badType, sameIdOtherBody], { key: API_KEY });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INPUT_INVALID');
    expect(res.body.error.message).toMatch(/^4 of 5 events are invalid; none was accepted/);
    expect(res.body.error.items).toEqual([
      { index: 1, id: badEmail.id, field: 'contact.email', message: 'contact.email: "not-an-email" is not an email address' },
      { index: 2, id: null, field: '', message: expect.stringContaining('must be a JSON object') },
      { index: 3, id: badType.id, field: 'type', message: expect.stringContaining('"Opt In" is not an event type') },
      { index: 4, id: good.id, field: 'id', message: expect.stringContaining('is also the id of item 0, with another body') },
    ]);
    expect(await waiting([good.id as string])).toEqual([]);
    expect(await applied(good.id as string)).toBeUndefined();
  });

  it('refuses bodies that are no event: not JSON, not an object, an empty batch, a batch over 1,000', async () => {
    const notJson = await postEvents(base, '{"id": ', { key: API_KEY });
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.code).toBe('INPUT_INVALID');
    const number = await postEvents(base, '42', { key: API_KEY });
    expect(number.status).toBe(400);
    expect(number.body.error.message).toContain('must be an event (a JSON object) or a batch of them');
    const empty = await postEvents(base, [], { key: API_KEY });
    expect(empty.status).toBe(400);
    expect(empty.body.error.message).toBe('body: the batch is empty');
    const tooMany = Array.from({ length: 1001 }, () => ({}));
    const over = await postEvents(base, tooMany, { key: API_KEY });
    expect(over.status).toBe(400);
    expect(over.body.error.message).toContain('a batch holds at most 1,000 events, this one 1,001');
  });

  it('answers 413 to a body over NURTURE_HTTP_BODY_LIMIT', async () => {
    const big = optIn('big@example.com', { data: { blob: 'x'.repeat(300 * 1024) } });
    const res = await postEvents(base, big, { key: API_KEY });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await waiting([big.id as string])).toEqual([]);
  });

  it('answers 400 for an event over 64 KiB inside a body the server takes', async () => {
    const big = optIn('big2@example.com', { data: { blob: 'x'.repeat(70 * 1024) } });
    const res = await postEvents(base, big, { key: API_KEY });
    expect(res.status).toBe(400);
    expect(res.body.error.items[0].message).toMatch(/^event is \d+ bytes; the limit is 65536$/);
  });

  it('answers 401 without credentials or with a wrong key, and names what it wants', async () => {
    const e = optIn('nokey@example.com');
    const none = await postEvents(base, e);
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('UNAUTHORIZED');
    expect(none.body.error.message).toContain('Authorization: Bearer KEY');
    const wrong = await postEvents(base, e, { key: 'wrong-key-0123456789abcdef' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.message).toBe('the bearer key is not one of NURTURE_API_KEYS');
    const basic = await postEvents(base, e, { headers: { authorization: 'Basic YWRtaW46eA==' } });
    expect(basic.status).toBe(401);
    // Credentials are checked before the body: a stranger learns nothing from validation messages.
    const badBody = await postEvents(base, [{ nope: 1 }]);
    expect(badBody.status).toBe(401);
    expect(await waiting([e.id as string])).toEqual([]);
  });

  it('takes a Standard Webhooks delivery signed with any configured secret, and a replay of its id applies nothing twice', async () => {
    const e = optIn('hook@example.com');
    const body = JSON.stringify([e]);
    const webhookId = `msg_${e.id as string}`;
    const first = await postEvents(base, body, { headers: webhookHeaders(WEBHOOK_SECRET, webhookId, body) });
    expect(first).toEqual({ status: 202, body: { accepted: [e.id], replay: false } });
    await eventually(() => applied(e.id as string), 'the webhook event applied');

    // The same delivery again, and a delivery under the same webhook id with another event in it (signed by the old secret).
    const again = await postEvents(base, body, { headers: webhookHeaders(WEBHOOK_SECRET, webhookId, body) });
    expect(again).toEqual({ status: 202, body: { accepted: [e.id], replay: true } });
    const other = optIn('hook2@example.com');
    const otherBody = JSON.stringify(other);
    const replay = await postEvents(base, otherBody, { headers: webhookHeaders(OLD_WEBHOOK_SECRET, webhookId, otherBody) });
    expect(replay).toEqual({ status: 202, body: { accepted: [other.id], replay: true } });
    expect(await waiting([other.id as string])).toEqual([]);

    // The old secret verifies a new delivery too (rotation).
    const rotated = optIn('hook3@example.com');
    const rotatedBody = JSON.stringify(rotated);
    const r = await postEvents(base, rotatedBody, { headers: webhookHeaders(OLD_WEBHOOK_SECRET, `msg_${rotated.id as string}`, rotatedBody) });
    expect(r.status).toBe(202);
    await eventually(() => applied(rotated.id as string), 'the event signed with the old secret applied');
    expect(await applied(other.id as string)).toBeUndefined();
  });

  it('refuses webhooks with a bad signature, an altered body, an old timestamp or missing headers', async () => {
    const e = optIn('badhook@example.com');
    const body = JSON.stringify(e);
    const wrongSecret = `whsec_${Buffer.from('another-secret-of-32-bytes-00000').toString('base64')}`;
    const bad = await postEvents(base, body, { headers: webhookHeaders(wrongSecret, 'msg_bad', body) });
    expect(bad.status).toBe(401);
    expect(bad.body.error.message).toContain('webhook-signature does not match the body');
    const altered = await postEvents(base, body.replace('badhook', 'evilhook'), { headers: webhookHeaders(WEBHOOK_SECRET, 'msg_altered', body) });
    expect(altered.status).toBe(401);
    const old = await postEvents(base, body, { headers: webhookHeaders(WEBHOOK_SECRET, 'msg_old', body, Math.floor(Date.now() / 1000) - 600) });
    expect(old.status).toBe(403);
    expect(old.body.error.message).toContain('refused as a possible replay');
    const partial = await postEvents(base, body, { headers: { 'webhook-id': 'msg_partial' } });
    expect(partial.status).toBe(401);
    expect(partial.body.error.message).toContain('webhook-id, webhook-timestamp and webhook-signature headers are required');
    expect(await waiting([e.id as string])).toEqual([]);
  });

  it('resolves a contact named by its id, and one named by a touch (tying the event to it)', async () => {
    const e = optIn('subject@example.com');
    expect((await postEvents(base, e, { key: API_KEY })).status).toBe(202);
    const contact = await eventually(() => store.db.selectFrom('contacts').selectAll().where('email', '=', 'subject@example.com').executeTakeFirst(), 'the contact');
    const touch = await eventually(() => store.db.selectFrom('touches').selectAll().where('contact_id', '=', contact.id).executeTakeFirst(), 'the welcome touch');

    const byId = { id: `${e.id as string}-page`, type: 'page_visited', contact: { id: contact.id, firstName: 'Sue' }, data: { page: '/pricing' } };
    const byTouch = { id: `${e.id as string}-click`, type: 'email_clicked', touch: { id: touch.id }, data: { url: 'https://example.com' } };
    const byMessageId = { id: `${e.id as string}-open`, type: 'email_opened', touch: { id: `<${touch.message_id}>` } };
    const res = await postEvents(base, [byId, byTouch, ...(touch.message_id ? [byMessageId] : [])], { key: API_KEY });
    expect(res.status).toBe(202);
    const a = await eventually(() => applied(byId.id), 'the event by contact id');
    expect(a.contact_id).toBe(contact.id);
    expect(a.touch_id).toBeNull();
    const b = await eventually(() => applied(byTouch.id), 'the event by touch');
    expect(b.contact_id).toBe(contact.id);
    expect(b.touch_id).toBe(touch.id);
    if (touch.message_id) expect((await eventually(() => applied(byMessageId.id), 'the event by Message-ID')).touch_id).toBe(touch.id);
    const updated = await store.db.selectFrom('contacts').select('first_name').where('id', '=', contact.id).executeTakeFirstOrThrow();
    expect(updated.first_name).toBe('Sue');
  });

  it('rejects an event whose contact id or touch names nothing, with the reason in failed events', async () => {
    const unknownContact = { id: `unknown-contact-${Date.now()}`, type: 'page_visited', contact: { id: '6f1e0c8a-0000-4000-8000-00000000abcd' } };
    const unknownTouch = { id: `unknown-touch-${Date.now()}`, type: 'bounced', touch: { id: '<nothing@example.com>' } };
    expect((await postEvents(base, [unknownContact, unknownTouch], { key: API_KEY })).status).toBe(202);
    const [c] = await eventually(async () => ((await failed(unknownContact.id)).length ? failed(unknownContact.id) : undefined), 'the contact-id rejection');
    expect(c!.field).toBe('contact.id');
    expect(c!.reason).toContain('no contact has the id "6f1e0c8a-0000-4000-8000-00000000abcd"');
    const [tr] = await eventually(async () => ((await failed(unknownTouch.id)).length ? failed(unknownTouch.id) : undefined), 'the touch rejection');
    expect(tr!.field).toBe('touch.id');
    expect(tr!.reason).toContain('"nothing@example.com" is neither the id nor the Message-ID of a touch');
    // Rejected events leave the intake too: nothing waits for ever.
    await eventually(async () => (await waiting([unknownContact.id, unknownTouch.id])).length === 0, 'the rejected events out of the intake');
  });
});

describe('POST /v1/events limits and switches', () => {
  let store: TestStore;
  let templatesDir: string;
  const engines: TestEngine[] = [];

  beforeAll(async () => {
    store = await createTestStore('postgres');
    templatesDir = await writeTemplates();
  });
  afterAll(async () => {
    for (const e of engines) await e.stop();
    await store?.cleanup();
    await rm(templatesDir, { recursive: true, force: true });
  });

  it('answers 429 past NURTURE_EVENTS_RATE_LIMIT requests a minute, counted per credential', async () => {
    const t = await startTestEngine({
      store,
      sequences: [],
      templatesDir,
      http: true,
      sweeper: false,
      config: testConfig({ NURTURE_API_KEYS: `${API_KEY},${OTHER_API_KEY}`, NURTURE_EVENTS_RATE_LIMIT: '3' }),
    });
    engines.push(t);
    const base = t.engine.http!.url;
    for (let i = 0; i < 3; i++) expect((await postEvents(base, optIn(`rl${i}@example.com`), { key: API_KEY })).status).toBe(202);
    const limited = optIn('rl-over@example.com');
    const over = await postEvents(base, limited, { key: API_KEY });
    expect(over.status).toBe(429);
    expect(over.body.error.code).toBe('RATE_LIMITED');
    expect(over.body.error.message).toContain('at most 3 requests per 1 minute');
    expect(await store.db.selectFrom('event_intake').select('id').where('id', '=', limited.id as string).executeTakeFirst()).toBeUndefined();
    // Another key has its own count.
    expect((await postEvents(base, optIn('rl-other@example.com'), { key: OTHER_API_KEY })).status).toBe(202);
  });

  it('is off (403) when neither NURTURE_API_KEYS nor NURTURE_WEBHOOK_SECRETS is set', async () => {
    const t = await startTestEngine({ store, sequences: [], templatesDir, http: true, sweeper: false });
    engines.push(t);
    const res = await postEvents(t.engine.http!.url, optIn('off@example.com'), { key: API_KEY });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('FORBIDDEN');
    expect(res.body.error.message).toContain('set NURTURE_API_KEYS');
  });
});
