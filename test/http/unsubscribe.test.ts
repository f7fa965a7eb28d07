import { rm } from 'node:fs/promises';
import { DateTime } from 'luxon';
import { simpleParser } from 'mailparser';
import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unsubscribeByMail } from '../../src/app/unsubscribe-contact.js';
import { sweeperScheduler } from '../../src/app/scheduler.js';
import { suppress, suppressionsOf } from '../../src/db/suppression-repository.js';
import { createLogger } from '../../src/logger.js';
import { contactTimeline } from '../../src/queries/contact-timeline.js';
import type { TestEngine } from '../support/engine.js';
import { TEST_TEMPLATES, eventually, startTestEngine, testConfig, writeTemplates } from '../support/engine.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';
import type { TestSmtp } from '../support/smtp.js';
import { startTestSmtp } from '../support/smtp.js';

const FOOTER = '<p><a href="{{links.unsubscribe}}">Unsubscribe</a> | <a href="{{links.preferences}}">Email preferences</a></p>';
const TEMPLATES = {
  ...TEST_TEMPLATES,
  welcome: `---\nsubject: Welcome\n---\n<p>Hi {{default firstName "there"}}</p>${FOOTER}\n`,
  guide: `---\nsubject: Your guide\n---\n<p>The guide.</p>${FOOTER}\n`,
  news: `---\nsubject: News\n---\n<p>News.</p>${FOOTER}\n`,
  tips: `---\nsubject: Tips\n---\n<p>Tips.</p>${FOOTER}\n`,
};

const NURTURE = `
id: nurture-a
trigger: { event: opt_in, where: { source: website } }
steps:
  - email: welcome
  - wait: 1 hour
  - email: guide
`;
const NEWS = `
id: news
topic: newsletter
trigger: { event: opt_in, where: { source: topics } }
steps:
  - email: news
  - wait: 1 hour
  - email: news
    id: news-2
`;
const TIPS = `
id: tips
topic: nurture
trigger: { event: opt_in, where: { source: topics } }
steps:
  - email: tips
  - wait: 1 hour
  - email: tips
    id: tips-2
`;

const TOPICS = [
  { id: 'newsletter', name: 'Newsletter', description: 'Monthly news' },
  { id: 'nurture', name: 'Tips', description: undefined },
];

/**
 * Unsubscribe and preferences through a real listening server and a real SMTP server: the
 * headers and links of every email, one-click (RFC 8058), the confirmation page, altered
 * tokens, the suppression list and per-topic opt-outs.
 */
describe('unsubscribe and preferences over HTTP', () => {
  let store: TestStore;
  let smtp: TestSmtp;
  let templatesDir: string;
  let t: TestEngine;
  let base: string;
  // The engine's clock runs ahead on demand, so an hour's wait passes without waiting an hour.
  let aheadMs = 0;

  beforeAll(async () => {
    store = await createTestStore('postgres');
    smtp = await startTestSmtp();
    templatesDir = await writeTemplates(TEMPLATES);
    t = await startTestEngine({
      store,
      sequences: [NURTURE, NEWS, TIPS],
      templatesDir,
      http: true,
      topics: TOPICS,
      clock: () => DateTime.utc().plus({ milliseconds: aheadMs }),
      config: testConfig({ SMTP_URL: smtp.url, NURTURE_FROM: 'Acme <news@acme.test>' }),
    });
    base = t.engine.http!.url;
  });

  afterAll(async () => {
    await t?.stop();
    await smtp?.close();
    await store?.cleanup();
    await rm(templatesDir, { recursive: true, force: true });
  });

  const mailTo = (email: string) => smtp.received.filter((m) => m.to === email);
  const parsedMail = async (email: string, n: number): Promise<ParsedMail> => {
    const m = await eventually(async () => mailTo(email)[n], `email ${n + 1} to ${email}`);
    return simpleParser(m.raw);
  };
  const header = (p: ParsedMail, name: string) => p.headerLines.find((h) => h.key === name)?.line.replace(/^[^:]+:\s*/, '').replace(/\r?\n\s+/g, ' ');
  const link = (p: ParsedMail, route: 'u' | 'p') => new RegExp(`href="(${base}/${route}/[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+)"`).exec(String(p.html))?.[1];
  const contact = (email: string) => store.db.selectFrom('contacts').selectAll().where('email', '=', email).executeTakeFirstOrThrow();
  const touches = async (email: string) =>
    store.db.selectFrom('touches').innerJoin('contacts', 'contacts.id', 'touches.contact_id').select(['touches.step_id', 'touches.status', 'touches.error']).where('contacts.email', '=', email).orderBy('touches.due_at').execute();
  // The changes these routes make; the opt-in the engine records for the test's own opt_in events is tested with forms.
  const consent = async (email: string) =>
    store.db
      .selectFrom('consent_records')
      .innerJoin('contacts', 'contacts.id', 'consent_records.contact_id')
      .selectAll('consent_records')
      .where('contacts.email', '=', email)
      .where('consent_records.kind', '!=', 'opt_in')
      .orderBy('consent_records.id')
      .execute();
  const oneClick = (url: string) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'TestMailClient/1.0' }, body: 'List-Unsubscribe=One-Click' });

  it('puts both unsubscribe headers, a text and an HTML part, and working links in every email', async () => {
    await t.emit({ type: 'opt_in', email: 'ann@example.com', data: { source: 'website' } });
    const p = await parsedMail('ann@example.com', 0);
    const url = link(p, 'u');
    expect(url).toBeDefined();
    expect(header(p, 'list-unsubscribe')).toMatch(new RegExp(`^<${url!.replace(/[.]/g, '\\.')}>, <mailto:unsubscribe@acme\\.test\\?subject=unsubscribe%20[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+>$`));
    expect(header(p, 'list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    // Both parts: the HTML as written, the text derived from it, each with the link.
    expect(p.html).toContain('Hi there');
    expect(p.text).toContain('Hi there');
    expect(p.text).toContain(url);
    expect(link(p, 'p')).toMatch(new RegExp(`^${base}/p/`));
  });

  it('shows a confirmation page on GET and changes nothing (link scanners follow GETs)', async () => {
    const url = link(await parsedMail('ann@example.com', 0), 'u')!;
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('<form method="post">');
    expect(html).toContain('name="confirm" value="yes"');
    expect(await suppressionsOf(store.db, 'ann@example.com')).toEqual([]);
    expect((await contact('ann@example.com')).unsubscribed_at).toBeNull();
  });

  it('answers 400 to an altered token and changes nothing', async () => {
    const url = link(await parsedMail('ann@example.com', 0), 'u')!;
    const last = url.at(-1) === 'A' ? 'B' : 'A';
    const altered = `${url.slice(0, -1)}${last}`;
    const res = await oneClick(altered);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('TOKEN_INVALID');
    expect((await fetch(altered)).status).toBe(400);
    // A valid token of another purpose is no unsubscribe token either.
    const prefs = link(await parsedMail('ann@example.com', 0), 'p')!;
    expect((await oneClick(prefs.replace('/p/', '/u/'))).status).toBe(400);
    expect(await suppressionsOf(store.db, 'ann@example.com')).toEqual([]);
    expect(await consent('ann@example.com')).toEqual([]);
    expect((await contact('ann@example.com')).unsubscribed_at).toBeNull();
  });

  it('unsubscribes at once on a one-click POST, idempotently, and no further email goes out', async () => {
    await t.emit({ type: 'opt_in', email: 'dave@example.com', data: { source: 'website' } });
    await parsedMail('dave@example.com', 0);
    const url = link(await parsedMail('ann@example.com', 0), 'u')!;

    const res = await oneClick(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('You are unsubscribed');
    // Committed before the answer: no polling needed.
    const suppressions = await suppressionsOf(store.db, 'ann@example.com');
    expect(suppressions.map((s) => [s.reason, s.source])).toEqual([['unsubscribed', 'one-click']]);
    const records = await consent('ann@example.com');
    expect(records.map((r) => [r.kind, r.source, r.ip, r.user_agent])).toEqual([['unsubscribed', 'one-click', '127.0.0.1', 'TestMailClient/1.0']]);
    const ann = await contact('ann@example.com');
    expect(ann.unsubscribed_at).not.toBeNull();
    const enrollments = await store.db.selectFrom('enrollments').select(['status', 'exit_reason']).where('contact_id', '=', ann.id).execute();
    expect(enrollments).toEqual([{ status: 'exited', exit_reason: 'unsubscribed' }]);

    // RFC 8058 asks mail clients for multipart/form-data: the same request that way is a repeat too.
    const form = new FormData();
    form.set('List-Unsubscribe', 'One-Click');
    const again = await fetch(url, { method: 'POST', body: form });
    expect(again.status).toBe(200);
    expect(await consent('ann@example.com')).toHaveLength(1);
    expect(await suppressionsOf(store.db, 'ann@example.com')).toHaveLength(1);

    // An hour later Dave gets the guide; Ann, unsubscribed, gets nothing more.
    aheadMs = 2 * 3600_000;
    await parsedMail('dave@example.com', 1);
    expect(mailTo('ann@example.com')).toHaveLength(1);
    expect((await touches('ann@example.com')).map((x) => [x.step_id, x.status])).toEqual([['welcome', 'sent']]);
  });

  it('unsubscribes from the confirmation page\'s button (source "page")', async () => {
    const url = link(await parsedMail('dave@example.com', 0), 'u')!;
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'confirm=yes' });
    expect(res.status).toBe(200);
    expect((await suppressionsOf(store.db, 'dave@example.com')).map((s) => [s.reason, s.source])).toEqual([['unsubscribed', 'page']]);
    // A POST that is neither one-click nor the page's button is refused.
    const other = await fetch(link(await parsedMail('ann@example.com', 0), 'u')!, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'x=1' });
    expect(other.status).toBe(400);
  });

  it('checks the suppression list before every send, also for an address first seen after it was suppressed', async () => {
    await suppress(store.db, { email: 'Bob@Example.com', reason: 'hard_bounce', source: 'test', at: new Date() });
    await t.emit({ type: 'opt_in', email: 'bob@example.com', data: { source: 'website' } });
    const [welcome] = await eventually(async () => {
      const all = await touches('bob@example.com');
      return all.length > 0 && all[0]!.status !== 'pending' ? all : undefined;
    }, 'the welcome email of bob to be settled');
    expect(welcome!.status).toBe('cancelled');
    expect(welcome!.error).toMatch(/^suppressed: hard bounce \(test, /);
    expect(mailTo('bob@example.com')).toEqual([]);
  });

  it('lets the person leave one topic on the preference page, and keeps the others', async () => {
    await t.emit({ type: 'opt_in', email: 'carol@example.com', data: { source: 'topics' } });
    await parsedMail('carol@example.com', 1);
    const news = await parsedMail('carol@example.com', mailTo('carol@example.com').findIndex((m) => m.subject === 'News'));
    const prefs = link(news, 'p')!;

    const page = await (await fetch(prefs)).text();
    expect(page).toContain('carol@example.com');
    expect(page).toMatch(/value="newsletter" checked> Newsletter/);
    expect(page).toMatch(/value="nurture" checked> Tips/);

    const saved = await fetch(prefs, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'action=save&topics=nurture' });
    expect(saved.status).toBe(200);
    const after = await saved.text();
    expect(after).toContain('Your choices are saved.');
    expect(after).toMatch(/value="newsletter"> Newsletter/);
    expect((await consent('carol@example.com')).map((r) => [r.kind, r.source, r.detail])).toEqual([['topics_changed', 'preferences', { left: ['newsletter'], rejoined: [] }]]);
    // Saving the same choices again records nothing.
    await fetch(prefs, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'action=save&topics=nurture' });
    expect(await consent('carol@example.com')).toHaveLength(1);

    aheadMs += 2 * 3600_000;
    await eventually(async () => mailTo('carol@example.com').find((m) => m.subject === 'Tips' && mailTo('carol@example.com').filter((x) => x.subject === 'Tips').length === 2), 'the second tips email');
    const settled = await eventually(async () => {
      const all = await touches('carol@example.com');
      const second = all.find((x) => x.step_id === 'news-2');
      return second && second.status !== 'pending' && second.status !== 'sending' ? second : undefined;
    }, 'the second news email to be settled');
    expect(settled).toMatchObject({ status: 'cancelled', error: 'the contact unsubscribed from topic "newsletter"' });
    expect((await contactTimeline(store.db, 'carol@example.com')).topicsLeft).toEqual(['newsletter']);
    expect(mailTo('carol@example.com').filter((m) => m.subject === 'News')).toHaveLength(1);
  });

  it('unsubscribes from everything and resubscribes from the preference page, recording both', async () => {
    const prefs = link(await parsedMail('carol@example.com', 0), 'p')!;
    const post = (body: string) => fetch(prefs, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'Browser/2' }, body });

    const out = await post('action=unsubscribe');
    expect(out.status).toBe(200);
    expect(await out.text()).toContain('Subscribe again');
    expect((await suppressionsOf(store.db, 'carol@example.com')).map((s) => [s.reason, s.source])).toEqual([['unsubscribed', 'page']]);
    expect((await contact('carol@example.com')).unsubscribed_at).not.toBeNull();

    await suppress(store.db, { email: 'carol@example.com', reason: 'complaint', source: 'test', at: new Date() });
    const back = await post('action=resubscribe');
    expect(back.status).toBe(200);
    // Only the person's own unsubscribe is lifted: a complaint stays.
    expect((await suppressionsOf(store.db, 'carol@example.com')).map((s) => s.reason)).toEqual(['complaint']);
    expect((await contact('carol@example.com')).unsubscribed_at).toBeNull();
    expect((await consent('carol@example.com')).map((r) => [r.kind, r.source, r.user_agent]).slice(-2)).toEqual([
      ['unsubscribed', 'page', 'Browser/2'],
      ['resubscribed', 'preferences', 'Browser/2'],
    ]);
  });

  it('puts an address unsubscribed by a producer\'s event on the list too, and a later opt-in takes it off', async () => {
    await t.emit({ type: 'opt_in', email: 'erin@example.com', data: { source: 'website' }, occurredAt: new Date(Date.now() - 60_000).toISOString() });
    await parsedMail('erin@example.com', 0);
    await t.emit({ type: 'unsubscribed', email: 'erin@example.com', occurredAt: new Date(Date.now() - 30_000).toISOString() });
    const listed = await eventually(async () => {
      const l = await suppressionsOf(store.db, 'erin@example.com');
      return l.length > 0 ? l : undefined;
    }, 'erin on the suppression list');
    expect(listed.map((x) => [x.reason, x.source])).toEqual([['unsubscribed', 'event']]);
    await t.emit({ type: 'opt_in', email: 'erin@example.com', data: { source: 'webinar' } });
    await eventually(async () => (await suppressionsOf(store.db, 'erin@example.com')).length === 0, 'erin off the list after a later opt-in');
    expect((await contact('erin@example.com')).unsubscribed_at).toBeNull();
  });

  it('unsubscribes by a mail to the mailto: address, whose subject carries the token', async () => {
    await t.emit({ type: 'opt_in', email: 'fred@example.com', data: { source: 'website' } });
    const p = await parsedMail('fred@example.com', 0);
    const mailto = /<mailto:([^>]+)>/.exec(header(p, 'list-unsubscribe')!)![1]!;
    const subject = new URL(`mailto:${mailto}`).searchParams.get('subject')!;
    const app = { deps: t.engine.deps, scheduler: sweeperScheduler, log: createLogger('silent') };
    expect(await unsubscribeByMail(app, { subject: `Re: ${subject.slice(0, -1)}${subject.endsWith('x') ? 'y' : 'x'}` }, DateTime.utc())).toEqual({ status: 'invalid' });
    expect(await suppressionsOf(store.db, 'fred@example.com')).toEqual([]);
    expect(await unsubscribeByMail(app, { subject: `Re: ${subject}` }, DateTime.utc())).toEqual({ status: 'unsubscribed', email: 'fred@example.com', already: false });
    expect((await suppressionsOf(store.db, 'fred@example.com')).map((x) => x.source)).toEqual(['mailto']);
    // What `nurture contacts show` prints comes from here.
    const report = await contactTimeline(store.db, 'fred@example.com');
    expect(report.suppressions.map((x) => [x.reason, x.source])).toEqual([['unsubscribed', 'mailto']]);
    expect(report.contact.emailStanding).toBe('unsubscribed');
  });

  it('refuses an altered preferences token and an undeclared topic', async () => {
    const prefs = link(await parsedMail('carol@example.com', 0), 'p')!;
    const altered = `${prefs.slice(0, -2)}${prefs.endsWith('AA') ? 'BB' : 'AA'}`;
    expect((await fetch(altered)).status).toBe(400);
    const bad = await fetch(altered, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'action=unsubscribe' });
    expect(bad.status).toBe(400);
    const unknown = await fetch(prefs, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'action=save&topics=sports' });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('INPUT_INVALID');
  });
});
