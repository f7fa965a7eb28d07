import { rm } from 'node:fs/promises';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseForms } from '../../src/forms/form-config.js';
import type { TestEngine } from '../support/engine.js';
import { TEST_TEMPLATES, eventually, startTestEngine, testConfig, writeTemplates } from '../support/engine.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';
import type { TestSmtp } from '../support/smtp.js';
import { startTestSmtp } from '../support/smtp.js';

/**
 * One person's whole journey through the HTTP edge, as the issue tells it: a form post, the
 * confirmation mail, the confirm link, the welcome mail, a click (recorded), the one-click
 * unsubscribe from the List-Unsubscribe header, and no mail after it. Real server, real SMTP,
 * messages parsed with mailparser.
 */
const ORIGIN = 'https://www.example.com';
const FORMS = `
forms:
  guide:
    source: guide
    consent: "Send me the buyer's guide and occasional advice. I can unsubscribe at any time."
    fields: { firstName: required }
    origins: [${ORIGIN}]
    double_opt_in: { template: confirm }
`;
const SEQUENCE = `
id: journey
trigger: { event: opt_in, where: { source: guide, confirmed: true } }
steps:
  - email: welcome
  - wait: 3 seconds
  - email: guide
`;
const TEMPLATES = {
  ...TEST_TEMPLATES,
  confirm: '---\nsubject: Please confirm your address\n---\n<p>Hi {{default firstName "there"}}, <a href="{{confirmUrl}}">confirm</a>.</p>\n',
  welcome:
    '---\nsubject: "Welcome {{default firstName \\"friend\\"}}"\n---\n<p>Hi {{contact.firstName}}, <a href="https://www.example.com/guide.pdf">your guide</a>.</p>\n<p><a href="{{links.unsubscribe}}">Unsubscribe</a> <a href="{{links.view}}">View in your browser</a></p>\n',
};

describe('a person from form post to one-click unsubscribe', () => {
  let store: TestStore;
  let smtp: TestSmtp;
  let templatesDir: string;
  let t: TestEngine;
  let base: string;
  const EMAIL = 'journey@example.com';
  const mailTo = () => smtp.received.filter((m) => m.recipients.includes(EMAIL));

  beforeAll(async () => {
    store = await createTestStore('postgres');
    smtp = await startTestSmtp();
    templatesDir = await writeTemplates(TEMPLATES);
    const forms = parseForms(FORMS, 'forms.yaml');
    if (!forms.ok) throw new Error(JSON.stringify(forms.problems));
    t = await startTestEngine({ store, sequences: [SEQUENCE], templatesDir, http: true, forms: forms.value.forms, config: testConfig({ SMTP_URL: smtp.url }) });
    base = t.engine.http!.url;
  });

  afterAll(async () => {
    await t?.stop();
    await smtp?.close();
    await store?.cleanup();
    await rm(templatesDir, { recursive: true, force: true });
  });

  it('confirms, is welcomed, clicks, unsubscribes with one click, and gets nothing more', async () => {
    const posted = await fetch(`${base}/v1/forms/guide`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN, 'user-agent': 'Browser/1.0' },
      body: new URLSearchParams({ email: EMAIL, firstName: 'Jo' }).toString(),
      redirect: 'manual',
    });
    expect(posted.status).toBeLessThan(400);

    // The confirmation mail, and nothing else before the click.
    const confirmation = await simpleParser((await eventually(async () => mailTo()[0], 'the confirmation mail')).raw);
    expect(confirmation.subject).toBe('Please confirm your address');
    const confirmUrl = /href="([^"]+\/confirm\/[^"]+)"/.exec(String(confirmation.html))?.[1];
    expect(confirmUrl).toBeDefined();
    const confirmed = await fetch(confirmUrl!, { method: 'POST', headers: { 'user-agent': 'Browser/1.0' } });
    expect(confirmed.status).toBe(200);

    // The welcome mail: both parts, the unsubscribe headers, a tracked link.
    const welcomeRaw = await eventually(async () => mailTo().find((m) => m.subject === 'Welcome Jo'), 'the welcome mail');
    const welcome = await simpleParser(welcomeRaw.raw);
    expect(welcome.text).toContain('Hi Jo');
    expect(String(welcome.html)).toContain('Hi Jo');
    // mailparser folds List-* headers into `list`: read them as sent.
    const header = (name: string) => welcome.headerLines.find((h) => h.key === name)?.line.replace(/^[^:]+:\s*/, '').replace(/\r?\n\s+/g, ' ');
    expect(header('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    const listUnsubscribe = String(header('list-unsubscribe'));
    const oneClick = /<(https?:\/\/[^>]+\/u\/[^>]+)>/.exec(listUnsubscribe)?.[1];
    expect(oneClick, listUnsubscribe).toBeDefined();
    expect(listUnsubscribe).toMatch(/<mailto:[^>]+>/);

    // The "view in the browser" link shows the email as sent, untracked; an altered one shows nothing.
    const view = /href="([^"]+\/v\/[^"]+)"/.exec(String(welcome.html))?.[1];
    expect(view).toBeDefined();
    const viewed = await fetch(view!);
    expect(viewed.status).toBe(200);
    const viewedHtml = await viewed.text();
    expect(viewedHtml).toContain('Hi Jo');
    expect(viewedHtml).not.toContain('/o/');
    expect((await fetch(`${view!.slice(0, -2)}xx`)).status).toBe(400);

    const tracked = /href="([^"]+\/c\/[^"]+)"/.exec(String(welcome.html))?.[1];
    expect(tracked).toBeDefined();
    // A person's click comes later than a scanner's: past the one-second window after delivery.
    await new Promise((r) => setTimeout(r, 1_100));
    const click = await fetch(tracked!, { redirect: 'manual' });
    expect(click.status).toBe(302);
    expect(click.headers.get('location')).toBe('https://www.example.com/guide.pdf');
    const contactId = (await store.db.selectFrom('contacts').select('id').where('email', '=', EMAIL).executeTakeFirstOrThrow()).id;
    const clickEvent = await eventually(
      () => store.db.selectFrom('events').select(['type', 'touch_id', 'data']).where('contact_id', '=', contactId).where('type', '=', 'email_clicked').executeTakeFirst(),
      'the click recorded',
    );
    expect(clickEvent.touch_id).not.toBeNull();
    expect(clickEvent.data).toMatchObject({ url: 'https://www.example.com/guide.pdf' });

    // One click from the header, as a mail client sends it: no cookie, no login.
    const unsubscribed = await fetch(oneClick!, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
    expect(unsubscribed.status).toBe(200);
    await eventually(async () => (await store.db.selectFrom('contacts').select('unsubscribed_at').where('id', '=', contactId).executeTakeFirstOrThrow()).unsubscribed_at, 'unsubscribed');

    // The guide would have gone 3 s after the welcome: the enrollment ended, and nothing more arrives.
    await new Promise((r) => setTimeout(r, 4_000));
    expect(mailTo().map((m) => m.subject)).toEqual(['Please confirm your address', 'Welcome Jo']);
    const enrollment = await store.db.selectFrom('enrollments').select(['status', 'exit_reason']).where('contact_id', '=', contactId).executeTakeFirstOrThrow();
    expect(enrollment).toEqual({ status: 'exited', exit_reason: 'unsubscribed' });
  });
});
