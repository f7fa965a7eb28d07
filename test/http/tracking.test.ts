import { rm } from 'node:fs/promises';
import { DateTime } from 'luxon';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contactTimeline } from '../../src/queries/contact-timeline.js';
import type { TestEngine } from '../support/engine.js';
import { eventually, startTestEngine, testConfig, writeTemplates } from '../support/engine.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';
import type { TestSmtp } from '../support/smtp.js';
import { startTestSmtp } from '../support/smtp.js';

const TEMPLATES: Record<string, string> = {
  'layouts/brand': '<html><body><h1>Acme</h1>{{{body}}}<p><a href="{{links.unsubscribe}}">Unsubscribe</a> · <a href="{{links.preferences}}">Preferences</a></p></body></html>\n',
  'partials/signature': '<p>— {{sender.name}}</p>\n',
  promo:
    '---\nsubject: "Pricing for {{default contact.firstName \\"you\\"}}"\nlayout: brand\n---\n' +
    '<p>Hi {{default firstName "there"}}</p>\n<p><a href="https://example.com/pricing?plan=pro&ref=mail">Pricing</a> and <a href=\'https://example.com/demo\'>a demo</a></p>\n{{> signature}}\n',
};

const TRACKED = `
id: tracked
trigger: { event: opt_in, where: { source: tracked } }
steps:
  - email: promo
`;

const UNTRACKED = `
id: untracked
trigger: { event: opt_in, where: { source: untracked } }
tracking: { clicks: false, opens: false }
steps:
  - email: promo
`;

interface Event {
  type: string;
  data: Record<string, unknown>;
  touchId: string | null;
}

/**
 * Click and open tracking through a real listening server, a real SMTP server and the real
 * queue: the message as received, its rewritten links followed, and the events they record.
 */
describe('tracking over HTTP', () => {
  let store: TestStore;
  let smtp: TestSmtp;
  let templatesDir: string;
  let t: TestEngine;
  let base: string;
  /** Set to freeze the engine's clock (a click a minute after delivery, two clicks at one instant). */
  let frozen: DateTime | undefined;

  beforeAll(async () => {
    store = await createTestStore('postgres');
    smtp = await startTestSmtp();
    templatesDir = await writeTemplates(TEMPLATES);
    t = await startTestEngine({
      store,
      sequences: [TRACKED, UNTRACKED],
      templatesDir,
      http: true,
      clock: () => frozen ?? DateTime.utc(),
      config: testConfig({ SMTP_URL: smtp.url, NURTURE_FROM: 'Acme Team <hello@acme.example>' }),
    });
    base = t.engine.http!.url;
  });

  afterAll(async () => {
    await t?.stop();
    await smtp?.close();
    await store?.cleanup();
    if (templatesDir) await rm(templatesDir, { recursive: true, force: true });
  });

  const received = async (email: string) => {
    const mail = await eventually(async () => smtp.received.find((m) => m.to === email), `the email to ${email}`);
    return simpleParser(mail.raw);
  };
  const eventsOf = async (email: string): Promise<Event[]> => (await contactTimeline(store.db, email)).events;
  const hrefs = (html: string) => [...html.matchAll(/href=(?:"([^"]+)"|'([^']+)')/g)].map((m) => (m[1] ?? m[2])!.replace(/&amp;/g, '&'));

  it('rewrites links to signed redirects that answer 302 to the target and record email_clicked; scanner bursts are flagged', async () => {
    const email = 'ann@example.com';
    await t.emit({ type: 'opt_in', contact: { email, firstName: 'Ann' }, data: { source: 'tracked' } });
    const mail = await received(email);
    expect(mail.subject).toBe('Pricing for Ann');
    const html = String(mail.html);
    expect(html).toContain('<h1>Acme</h1>');
    expect(html).toContain('<p>— Acme Team</p>');
    // A plain-text part always goes out, with the real addresses.
    expect(mail.text).toContain('https://example.com/pricing?plan=pro&ref=mail');

    const links = hrefs(html);
    expect(links).toHaveLength(4);
    const [pricing, demo, unsubscribe, preferences] = links as [string, string, string, string];
    expect(pricing).toMatch(new RegExp(`^${base}/c/[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$`));
    expect(demo).toMatch(new RegExp(`^${base}/c/`));
    // Unsubscribing and preferences are never behind a redirect.
    expect(unsubscribe).toMatch(new RegExp(`^${base}/u/`));
    expect(preferences).toMatch(new RegExp(`^${base}/p/`));

    frozen = DateTime.utc().plus({ minutes: 1 });
    const res = await fetch(pricing, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('https://example.com/pricing?plan=pro&ref=mail');

    const touchId = (await contactTimeline(store.db, email)).touches[0]!.id;
    const first = await eventually(async () => (await eventsOf(email)).find((e) => e.type === 'email_clicked'), 'email_clicked');
    expect(first.data).toEqual({ url: 'https://example.com/pricing?plan=pro&ref=mail', link: 0, touchId });
    expect(first.touchId).toBe(touchId);

    // A second click at the same instant (another link of the message): a scanner's burst.
    const again = await fetch(demo, { redirect: 'manual' });
    expect(again.status).toBe(302);
    expect(again.headers.get('location')).toBe('https://example.com/demo');
    const burst = await eventually(async () => (await eventsOf(email)).find((e) => e.type === 'email_clicked' && e.data['link'] === 1), 'the second click');
    expect(burst.data).toMatchObject({ url: 'https://example.com/demo', touchId, suspectedScanner: true, scannerReason: 'burst' });
    frozen = undefined;
  });

  it('answers 400 to an altered click token and redirects nowhere', async () => {
    const email = 'cy@example.com';
    await t.emit({ type: 'opt_in', contact: { email }, data: { source: 'tracked' } });
    const pricing = hrefs(String((await received(email)).html))[0]!;
    const [payload, mac] = pricing.slice(`${base}/c/`.length).split('.') as [string, string];

    const flipped = `${base}/c/${payload}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`;
    const forged = JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')), u: 'https://evil.example/' });
    const retargeted = `${base}/c/${Buffer.from(forged).toString('base64url')}.${mac}`;
    for (const url of [flipped, retargeted, `${base}/c/not-a-token`]) {
      const res = await fetch(url, { redirect: 'manual' });
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('TOKEN_INVALID');
    }
  });

  it('serves a 1x1 GIF for the open pixel and records email_opened', async () => {
    const email = 'dee@example.com';
    await t.emit({ type: 'opt_in', contact: { email }, data: { source: 'tracked' } });
    const html = String((await received(email)).html);
    const pixel = new RegExp(`<img src="(${base}/o/[A-Za-z0-9_.-]+\\.gif)" width="1" height="1"`).exec(html)?.[1];
    expect(pixel).toBeDefined();
    // The pixel sits inside the layout's body, before </body>.
    expect(html.indexOf(pixel!)).toBeLessThan(html.indexOf('</body>'));

    frozen = DateTime.utc().plus({ minutes: 5 });
    const res = await fetch(pixel!);
    frozen = undefined;
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/gif');
    const gif = Buffer.from(await res.arrayBuffer());
    expect(gif.subarray(0, 6).toString('latin1')).toBe('GIF89a');
    expect([gif.readUInt16LE(6), gif.readUInt16LE(8)]).toEqual([1, 1]);

    const touchId = (await contactTimeline(store.db, email)).touches[0]!.id;
    const opened = await eventually(async () => (await eventsOf(email)).find((e) => e.type === 'email_opened'), 'email_opened');
    expect(opened.data).toEqual({ touchId });
    expect((await fetch(pixel!.replace(/\.gif$/, 'x.gif'))).status).toBe(400);
  });

  it('leaves links and the pixel out of the emails of a sequence with tracking off', async () => {
    const email = 'bob@example.com';
    await t.emit({ type: 'opt_in', contact: { email }, data: { source: 'untracked' } });
    const html = String((await received(email)).html);
    expect(hrefs(html).slice(0, 2)).toEqual(['https://example.com/pricing?plan=pro&ref=mail', 'https://example.com/demo']);
    expect(html).not.toContain(`${base}/c/`);
    expect(html).not.toContain(`${base}/o/`);
  });
});
