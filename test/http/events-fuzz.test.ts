import { rm } from 'node:fs/promises';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestEngine } from '../support/engine.js';
import { eventually, startTestEngine, testConfig, writeTemplates } from '../support/engine.js';
import { API_KEY, WEBHOOK_SECRET, webhookHeaders } from '../support/http-events.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';

const BODY_LIMIT = 128 * 1024;
let serial = 0;

/** A valid event with a fresh id (so a 202 must end in an applied event), varied in every optional field. */
const validEvent = fc
  .record({
    type: fc.constantFrom('opt_in', 'page_visited', 'email_opened', 'webinar_attended', 'unsubscribed', 'info_requested'),
    user: fc.stringMatching(/^[a-z0-9]{1,12}$/),
    firstName: fc.option(fc.string({ maxLength: 30 }), { nil: undefined }),
    occurredAt: fc.option(fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date(), noInvalidDate: true }), { nil: undefined }),
    data: fc.dictionary(fc.stringMatching(/^[a-z]{1,8}$/), fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean())),
  })
  .map((r) => ({
    id: `fuzz-${process.pid}-${serial++}`,
    type: r.type,
    ...(r.occurredAt ? { occurredAt: r.occurredAt.toISOString() } : {}),
    contact: { email: `${r.user}@fuzz.example.com`, ...(r.firstName === undefined ? {} : { firstName: r.firstName }) },
    data: r.data,
  }));

/** A valid event with one field replaced by anything. */
const mutatedEvent = fc
  .tuple(validEvent, fc.constantFrom('id', 'type', 'occurredAt', 'contact', 'data', 'touch', 'extra'), fc.jsonValue())
  .map(([e, key, value]) => ({ ...e, [key]: value }));

const body = fc.oneof(
  validEvent.map((e) => JSON.stringify(e)),
  fc.array(validEvent, { minLength: 1, maxLength: 20 }).map((b) => JSON.stringify(b)),
  fc.array(fc.oneof(validEvent, mutatedEvent), { minLength: 0, maxLength: 10 }).map((b) => JSON.stringify(b)),
  mutatedEvent.map((e) => JSON.stringify(e)),
  fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'),
  fc.string({ maxLength: 200, unit: 'binary' }),
  // Sizes around and over the limit.
  fc.integer({ min: BODY_LIMIT - 2048, max: BODY_LIMIT * 2 }).map((n) => JSON.stringify({ id: 'big', type: 'opt_in', contact: { email: 'a@b.co' }, data: { x: 'y'.repeat(n) } })),
);

const contentType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream', 'application/json; charset=latin1', 'multipart/form-data');
const auth = fc.constantFrom<'bearer' | 'webhook' | 'wrong-bearer' | 'garbage' | 'bad-webhook' | 'none'>('bearer', 'bearer', 'webhook', 'wrong-bearer', 'garbage', 'bad-webhook', 'none');

/** Random bodies, headers and sizes against a real listening server: never a 5xx, never a crash, every 202 applied. */
describe('POST /v1/events under random input', () => {
  let store: TestStore;
  let templatesDir: string;
  let t: TestEngine;
  let base: string;

  beforeAll(async () => {
    store = await createTestStore('postgres');
    templatesDir = await writeTemplates();
    t = await startTestEngine({
      store,
      sequences: [],
      templatesDir,
      http: true,
      config: testConfig({
        NURTURE_API_KEYS: API_KEY,
        NURTURE_WEBHOOK_SECRETS: WEBHOOK_SECRET,
        NURTURE_HTTP_BODY_LIMIT: String(BODY_LIMIT),
        NURTURE_EVENTS_RATE_LIMIT: '100000',
      }),
    });
    base = t.engine.http!.url;
  });

  afterAll(async () => {
    await t?.stop();
    await store?.cleanup();
    await rm(templatesDir, { recursive: true, force: true });
  });

  it('answers 202 or a 4xx with a code and a reason, and applies every event it accepted', async () => {
    const accepted: string[] = [];
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(body, contentType, auth, fc.string({ maxLength: 40 }), async (text, type, how, junk) => {
        const headers: Record<string, string> = { 'content-type': type };
        if (how === 'bearer') headers.authorization = `Bearer ${API_KEY}`;
        if (how === 'wrong-bearer') headers.authorization = `Bearer ${API_KEY}x`;
        if (how === 'garbage') headers.authorization = junk.replace(/[^\x20-\x7e]/g, '');
        if (how === 'webhook') Object.assign(headers, webhookHeaders(WEBHOOK_SECRET, `msg_${serial++}`, text));
        if (how === 'bad-webhook') Object.assign(headers, webhookHeaders(WEBHOOK_SECRET, `msg_${serial++}`, `${text} `));
        const res = await fetch(`${base}/v1/events`, { method: 'POST', headers, body: text });
        const answer = await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect(res.status, answer).toBeLessThan(500);
        const json = JSON.parse(answer) as { accepted?: string[]; error?: { code: string; message: string } };
        if (res.status === 202) {
          accepted.push(...json.accepted!);
        } else {
          expect(res.status).toBeGreaterThanOrEqual(400);
          expect(json.error!.code).toMatch(/^[A-Z_]+$/);
          expect(json.error!.message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 250 },
    );
    console.log(`answers by status: ${JSON.stringify(Object.fromEntries(statuses))}`);
    // Still up.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(accepted.length).toBeGreaterThan(0);
    const unique = [...new Set(accepted)];
    await eventually(
      async () => {
        const applied = await store.db.selectFrom('events').select('id').where('id', 'in', unique).execute();
        return applied.length === unique.length;
      },
      `all ${unique.length} accepted events applied (answers: ${JSON.stringify(Object.fromEntries(statuses))})`,
      60_000,
    );
  }, 180_000);
});
