import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseForms } from '../../src/forms/form-config.js';
import { consentHistory } from '../../src/queries/consent-history.js';
import { consentText } from '../../src/cli/contacts-consent.js';
import { TokenSigner } from '../../src/security/signed-token.js';
import type { TestEngine } from '../support/engine.js';
import { TEST_SECRET, TEST_TEMPLATES, eventually, startTestEngine, testConfig, writeTemplates } from '../support/engine.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';
import type { TestSmtp } from '../support/smtp.js';
import { startTestSmtp } from '../support/smtp.js';

/** Hosted opt-in forms and double opt-in, through a real listening server and a real SMTP server. */

const ORIGIN = 'https://www.example.com';
const WORDING = 'Yes, send me the newsletter. I can unsubscribe at any time.';
const FORMS = `
forms:
  news:
    version: 3
    source: website
    consent: "${WORDING}"
    fields:
      firstName: optional
      phone: optional
      company: { required: false, to: attributes.company }
    origins: [${ORIGIN}]
  news-redirect:
    source: website
    consent: "${WORDING}"
    origins: [${ORIGIN}]
    redirect: https://www.example.com/thanks
  guide:
    source: guide
    consent: "Send me the guide"
    fields: { firstName: required }
    origins: [${ORIGIN}]
    double_opt_in: { template: confirm }
  short:
    source: guide
    consent: "Send me the guide"
    origins: [${ORIGIN}]
    double_opt_in: { template: confirm, expires: 1 second }
`;

const SEQUENCES = [
  `
id: welcome
trigger: { event: opt_in, where: { source: website } }
steps: [ { email: welcome } ]
`,
  // Only addresses confirmed by a click enter this one.
  `
id: guide-seq
trigger: { event: opt_in, where: { source: guide, confirmed: true } }
steps: [ { email: guide } ]
`,
];

const CONFIRM_TEMPLATE = '---\nsubject: Please confirm your address\n---\n<p>Hi {{default firstName "there"}}, <a href="{{confirmUrl}}">confirm</a>.</p>\n';

describe('hosted forms and double opt-in', () => {
  let store: TestStore;
  let smtp: TestSmtp;
  let templatesDir: string;
  let t: TestEngine;
  let base: string;

  beforeAll(async () => {
    store = await createTestStore('postgres');
    smtp = await startTestSmtp();
    templatesDir = await writeTemplates({ ...TEST_TEMPLATES, confirm: CONFIRM_TEMPLATE });
    const forms = parseForms(FORMS, 'forms.yaml');
    if (!forms.ok) throw new Error(JSON.stringify(forms.problems));
    t = await startTestEngine({
      store,
      sequences: SEQUENCES,
      templatesDir,
      http: true,
      forms: forms.value.forms,
      config: testConfig({ SMTP_URL: smtp.url, NURTURE_FORM_RATE_LIMIT: '40' }),
    });
    base = t.engine.http!.url;
  });

  afterAll(async () => {
    await t?.stop();
    await smtp?.close();
    await store?.cleanup();
    await rm(templatesDir, { recursive: true, force: true });
  });

  const postJson = (form: string, body: unknown, headers: Record<string, string> = { origin: ORIGIN }) =>
    fetch(`${base}/v1/forms/${form}`, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'FormTest/1.0', ...headers }, body: JSON.stringify(body) });
  const postHtml = (form: string, fields: Record<string, string>, headers: Record<string, string> = { origin: ORIGIN }) =>
    fetch(`${base}/v1/forms/${form}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'FormTest/1.0', ...headers },
      body: new URLSearchParams(fields).toString(),
      redirect: 'manual',
    });
  const enrollmentsOf = (email: string) =>
    store.db
      .selectFrom('enrollments')
      .innerJoin('contacts', 'contacts.id', 'enrollments.contact_id')
      .select(['enrollments.sequence_id', 'enrollments.status'])
      .where('contacts.email', '=', email)
      .execute();
  const mailTo = (email: string) => smtp.received.filter((m) => m.recipients.includes(email));

  it('takes a JSON post: 202, an opt_in event that enrolls, and one consent record with the form, IP, user agent and wording', async () => {
    const res = await postJson('news', { email: 'Ann@Example.com', firstName: 'Ann', company: 'Acme', unrelated: 'ignored' });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ status: 'accepted', doubleOptIn: false });
    await eventually(async () => (await enrollmentsOf('ann@example.com')).length === 1, 'ann enrolled');
    const contact = await store.db.selectFrom('contacts').selectAll().where('email', '=', 'ann@example.com').executeTakeFirstOrThrow();
    expect(contact.first_name).toBe('Ann');
    expect(contact.attributes).toEqual({ company: 'Acme' });
    await eventually(async () => mailTo('ann@example.com').length === 1, 'welcome email');

    const history = await consentHistory(store.db, 'ann@example.com');
    // The engine applied the same event, but the record written at the edge is the one kept.
    expect(history.records).toHaveLength(1);
    expect(history.records[0]).toMatchObject({
      kind: 'opt_in',
      source: 'form',
      formId: 'news',
      formVersion: '3',
      ip: '127.0.0.1',
      userAgent: 'FormTest/1.0',
      wording: WORDING,
      wordingHash: createHash('sha256').update(WORDING).digest('hex'),
    });
    expect(history.records[0]!.eventId).toMatch(/^form-news-/);
  });

  it('answers a browser post with a thank-you page, or a 303 to the form redirect', async () => {
    const page = await postHtml('news', { email: 'bob@example.com' });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('Thank you');

    const redirected = await postHtml('news-redirect', { email: 'cy@example.com' });
    expect(redirected.status).toBe(303);
    expect(redirected.headers.get('location')).toBe('https://www.example.com/thanks');
    await eventually(async () => (await enrollmentsOf('cy@example.com')).length === 1, 'cy enrolled');
  });

  it('refuses a post from another origin, or with none, with 403', async () => {
    const json = await postJson('news', { email: 'eve@example.com' }, { origin: 'https://evil.example' });
    expect(json.status).toBe(403);
    expect(await json.json()).toMatchObject({ error: { code: 'FORBIDDEN', message: expect.stringContaining('https://evil.example') } });
    const none = await postJson('news', { email: 'eve@example.com' }, {});
    expect(none.status).toBe(403);
    const html = await postHtml('news', { email: 'eve@example.com' }, { origin: 'https://evil.example' });
    expect(html.status).toBe(403);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    // A Referer of an allowed site stands in for a missing Origin.
    const referer = await postJson('news', { email: 'rita@example.com' }, { referer: `${ORIGIN}/signup?x=1` });
    expect(referer.status).toBe(202);
    expect(await store.db.selectFrom('contacts').select('id').where('email', '=', 'eve@example.com').executeTakeFirst()).toBeUndefined();
  });

  it('refuses bad fields with 400 naming the field', async () => {
    const missing = await postJson('news', { firstName: 'No email' });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({ error: { code: 'INPUT_INVALID', message: 'email is required', field: 'email' } });
    const badEmail = await postJson('news', { email: 'not-an-email' });
    expect(await badEmail.json()).toMatchObject({ error: { code: 'INPUT_INVALID', field: 'email', message: expect.stringContaining('"not-an-email" is not an email address') } });
    const badPhone = await postJson('news', { email: 'p@example.com', phone: 'call me' });
    expect(badPhone.status).toBe(400);
    expect(await badPhone.json()).toMatchObject({ error: { code: 'INPUT_INVALID', field: 'phone', message: expect.stringContaining('"call me" is not a phone number') } });
    const required = await postJson('guide', { email: 'r@example.com' });
    expect(await required.json()).toMatchObject({ error: { field: 'firstName', message: 'firstName is required' } });
    const html = await postHtml('news', { email: 'nope' });
    expect(html.status).toBe(400);
    expect(await html.text()).toContain('is not an email address');
  });

  it('answers an unknown form with a JSON 404, whatever was posted', async () => {
    for (const res of [await postJson('nope', { email: 'x@example.com' }), await postHtml('nope', { email: 'x@example.com' })]) {
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no form "nope" (forms are declared in forms.yaml)' } });
    }
  });

  it('answers a post whose honeypot is filled like a success, and stores and enrolls nothing', async () => {
    const res = await postJson('news', { email: 'bot@example.com', nurture_hp: 'http://spam.example' });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ status: 'accepted', doubleOptIn: false });
    const doi = await postHtml('guide', { email: 'bot2@example.com', firstName: 'Bot', nurture_hp: 'x' });
    expect(doi.status).toBe(200);
    expect(await doi.text()).toContain('Check your inbox');
    // Nothing was handed to the engine: no contact, no consent, no email, now or later.
    expect(await store.db.selectFrom('contacts').select('email').where('email', 'in', ['bot@example.com', 'bot2@example.com']).execute()).toEqual([]);
    await expect(consentHistory(store.db, 'bot@example.com')).rejects.toThrow(/no contact and no consent record/);
  });

  it('double opt-in: confirmation mail, a GET that only shows a button, the POST that confirms, then nurture', async () => {
    const res = await postJson('guide', { email: 'dora@example.com', firstName: 'Dora' });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ status: 'confirmation_sent', doubleOptIn: true });
    const mail = await eventually(async () => mailTo('dora@example.com')[0], 'the confirmation email');
    const parsed = await simpleParser(mail.raw);
    expect(parsed.subject).toBe('Please confirm your address');
    expect(parsed.html).toContain('Hi Dora');
    const link = /href="([^"]+)"/.exec(String(parsed.html))![1]!;
    expect(link).toMatch(new RegExp(`^${base}/confirm/[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$`));
    // The same address sent again at once gets no second email.
    expect((await postJson('guide', { email: 'dora@example.com', firstName: 'Dora' })).status).toBe(202);

    const shown = await fetch(link);
    expect(shown.status).toBe(200);
    const html = await shown.text();
    expect(html).toContain('<form method="post"');
    // A link scanner's GET confirmed nothing.
    expect(await enrollmentsOf('dora@example.com')).toEqual([]);

    const confirmed = await fetch(link, { method: 'POST', headers: { 'user-agent': 'Browser/2.0' } });
    expect(confirmed.status).toBe(200);
    expect(await confirmed.text()).toContain('You are signed up');
    await eventually(async () => (await enrollmentsOf('dora@example.com')).some((e) => e.sequence_id === 'guide-seq'), 'dora enrolled after confirming');
    await eventually(async () => mailTo('dora@example.com').length === 2, 'the first nurture email');
    expect(mailTo('dora@example.com').map((m) => m.subject)).toEqual(['Please confirm your address', 'Your guide']);

    const again = await fetch(link, { method: 'POST' });
    expect(await again.text()).toContain('already confirmed');
    const history = await consentHistory(store.db, 'dora@example.com');
    expect(history.records.map((r) => r.kind)).toEqual(['opt_in', 'confirmation_sent', 'confirmed']);
    expect(history.records[0]).toMatchObject({ source: 'form', formId: 'guide', wording: 'Send me the guide', userAgent: 'FormTest/1.0', detail: { doubleOptIn: 'pending' } });
    expect(history.records[2]).toMatchObject({ ip: '127.0.0.1', userAgent: 'Browser/2.0', wording: 'Send me the guide' });
    expect(history.pendingOptIns.map((p) => p.status)).toEqual(['confirmed']);
    expect((await enrollmentsOf('dora@example.com')).length).toBe(1);

    const text = consentText(history, 'UTC');
    expect(text).toContain('dora@example.com: consent history, 3 record(s)');
    expect(text).toMatch(/confirmation_sent\s+form\s+guide@/);
    expect(text).toContain('Send me the guide');
  });

  it('refuses a confirmation link that was altered', async () => {
    const res = await fetch(`${base}/confirm/not.a-token`, { method: 'POST' });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('not valid');
  });

  it('expires an unconfirmed opt-in: recorded, never confirmed later, never enrolled', async () => {
    expect((await postJson('short', { email: 'ed@example.com' })).status).toBe(202);
    const history = await eventually(async () => {
      const h = await consentHistory(store.db, 'ed@example.com');
      return h.records.some((r) => r.kind === 'expired') ? h : undefined;
    }, 'the expiry');
    expect(history.pendingOptIns.map((p) => p.status)).toEqual(['expired']);
    const pending = await store.db.selectFrom('pending_opt_ins').select(['id', 'touch_id']).where('form_id', '=', 'short').executeTakeFirstOrThrow();
    const touch = await store.db.selectFrom('touches').select('status').where('id', '=', pending.touch_id!).executeTakeFirstOrThrow();
    // Sent before it expired, or cancelled: never waiting to go out.
    expect(['sent', 'cancelled']).toContain(touch.status);

    const token = new TokenSigner([TEST_SECRET]).sign('confirm', pending.id);
    const late = await fetch(`${base}/confirm/${token}`, { method: 'POST' });
    expect(late.status).toBe(400);
    expect(await late.text()).toContain('expired');
    expect(await enrollmentsOf('ed@example.com')).toEqual([]);
    const after = await consentHistory(store.db, 'ed@example.com');
    expect(after.records.map((r) => r.kind).filter((k) => k !== 'confirmation_sent')).toEqual(['opt_in', 'expired']);
  });

  it('limits form posts per client address: 429 past NURTURE_FORM_RATE_LIMIT a minute', async () => {
    let status = 0;
    let body: unknown;
    for (let i = 0; i < 45 && status !== 429; i++) {
      const res = await postJson('news', { email: `rl${i}@example.com`, nurture_hp: 'bot' });
      status = res.status;
      body = await res.json();
    }
    expect(status).toBe(429);
    expect(body).toMatchObject({ error: { code: 'RATE_LIMITED', message: expect.stringContaining('at most 40 requests') } });
  });
});
