import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestEngine } from '../support/engine.js';
import { startTestEngine, writeTemplates } from '../support/engine.js';
import { INBOX_PASSWORD, inboxDirectory, seedContact, seedStaffAccount, seedTask } from '../support/inbox.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
export const LAPTOP_SCREENSHOT = path.join(ROOT, 'docs/screenshots/inbox-laptop.png');
export const PHONE_SCREENSHOT = path.join(ROOT, 'docs/screenshots/inbox-phone.png');

/** Debian's chromium (apt-get install chromium), driven by playwright-core: no browser download. */
const CHROMIUM = process.env.NURTURE_TEST_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** The inbox as a sales rep uses it, in a real browser: log in, work the queue, record an outcome, see new work arrive. */
describe('task inbox in a browser', () => {
  let store: TestStore;
  let templatesDir: string;
  let profile: string;
  let t: TestEngine;
  let base: string;
  let ids: { annCall: number; calQueued: number; deePostcard: number };
  let calId: string;

  beforeAll(async () => {
    store = await createTestStore('postgres');
    templatesDir = await writeTemplates();
    profile = await mkdtemp(path.join(tmpdir(), 'nurture-chromium-'));
    t = await startTestEngine({ store, sequences: [], templatesDir, http: true, sweeper: false, staff: inboxDirectory() });
    base = t.engine.http!.url;
    await seedStaffAccount(store.db, 'bob@example.com');
    await seedStaffAccount(store.db, 'olive@example.com');
    const now = Date.now();
    const ann = await seedContact(store.db, { email: 'ann@example.com', first: 'Ann', last: 'Lee', phone: '+1 555 010 2000' });
    calId = await seedContact(store.db, { email: 'cal@example.com', first: 'Cal', last: 'Moreno', phone: '+1 555 010 3000' });
    const dee = await seedContact(store.db, { email: 'dee@example.com', first: 'Dee', address: { line1: '1 Main St', city: 'Springfield', postalCode: '01101' } });
    // What Ann did before: an email sent, opened, a link clicked, a request for a call.
    const touch = await store.db
      .insertInto('touches')
      .values({ key: 'seed/ann-1', enrollment_id: null, contact_id: ann, sequence_id: 'welcome', step_id: 'guide', kind: 'email', template: 'guide', status: 'sent', message_id: null, subject: 'Your guide to heat pumps', error: null, due_at: new Date(now - 86_400_000), sent_at: new Date(now - 86_400_000), failed_at: null })
      .returning('id')
      .executeTakeFirstOrThrow();
    for (const [i, type, data] of [
      [1, 'opt_in', { source: 'website' }],
      [2, 'email_opened', {}],
      [3, 'email_clicked', { url: 'https://example.com/pricing' }],
    ] as const) {
      await store.db.insertInto('events').values({ id: `seed-ann-${i}`, contact_id: ann, type, occurred_at: new Date(now - 80_000_000 + i * 1_000_000), data: JSON.stringify(data), touch_id: type === 'opt_in' ? null : touch.id }).execute();
    }
    ids = {
      annCall: await seedTask(store.db, { contactId: ann, title: 'Call Ann: asked about pricing', assignee: 'bob@example.com', team: 'sales', priority: 'high', slaDueAt: new Date(now + 4 * 60_000), dueAt: new Date(now + 3_600_000), phone: '+1 555 010 2000', note: 'Prefers mornings' }),
      calQueued: await seedTask(store.db, { contactId: calId, title: 'Call Cal back', team: 'sales', slaDueAt: new Date(now + 12 * 60_000), dueAt: new Date(now + 3_600_000) }),
      deePostcard: await seedTask(store.db, { contactId: dee, kind: 'postcard', title: 'Postcard to Dee', team: 'office', dueAt: new Date(now + 7_200_000) }),
    };
  });

  afterAll(async () => {
    await t?.stop();
    await store?.cleanup();
    await rm(templatesDir, { recursive: true, force: true });
    await rm(profile, { recursive: true, force: true });
  });

  it('logs in, shows only own and team tasks, refuses another team’s task, takes new work live, and promotes on appointment_booked', async () => {
    const context: BrowserContext = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: ARGS, headless: true, viewport: { width: 1280, height: 800 } });
    try {
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('console', (m) => {
        // The refused task answers 404, which the console reports as a failed resource: that one is expected.
        if (m.type() === 'error' && !/404/.test(m.text())) problems.push(m.text());
      });
      page.on('pageerror', (e) => problems.push(e.message));

      await page.goto(`${base}/inbox`);
      expect(new URL(page.url()).pathname).toBe('/inbox/login');
      await page.fill('input[name="email"]', 'bob@example.com');
      await page.fill('input[name="password"]', INBOX_PASSWORD);
      await Promise.all([page.waitForURL(`${base}/inbox`), page.click('button[type="submit"]')]);
      const shown = async () => page.$$eval('#queue [data-task-id]', (els) => els.map((e) => Number((e as unknown as { dataset: { taskId: string } }).dataset.taskId)));
      expect(await shown()).toEqual([ids.annCall, ids.calQueued]);
      expect(await page.textContent(`[data-task-id="${ids.annCall}"] .countdown`)).toMatch(/^\d+:\d\d left$/);

      // Another team's task by URL: not found, nothing of it shown.
      const refused = await page.goto(`${base}/inbox/tasks/${ids.deePostcard}`);
      expect(refused?.status()).toBe(404);
      expect(await page.textContent('h1')).toBe('Not found');
      expect(await page.content()).not.toContain('Dee');

      // A new task for the team arrives over server-sent events, without a reload.
      await page.goto(`${base}/inbox`);
      await page.waitForSelector('#live:not([hidden])');
      await page.evaluate(() => ((globalThis as unknown as { loadedOnce: number }).loadedOnce = 1));
      const arrived = await seedTask(store.db, { contactId: calId, title: 'New lead: Cal asked for a call', team: 'sales', priority: 'high', slaDueAt: new Date(Date.now() + 5 * 60_000) });
      await page.waitForSelector(`#queue [data-task-id="${arrived}"]`, { timeout: 15_000 });
      expect(await page.evaluate(() => (globalThis as unknown as { loadedOnce?: number }).loadedOnce)).toBe(1);
      expect(await shown()).toEqual([ids.annCall, arrived, ids.calQueued]);
      await mkdir(path.dirname(LAPTOP_SCREENSHOT), { recursive: true });
      await page.screenshot({ path: LAPTOP_SCREENSHOT });

      // Two clicks: open the call, press the outcome.
      await Promise.all([page.waitForURL(`${base}/inbox/tasks/${ids.annCall}`), page.click(`[data-task-id="${ids.annCall}"] a.open`)]);
      expect(await page.getAttribute('a.tel', 'href')).toBe('tel:+15550102000');
      expect(await page.textContent('.contact .stage')).toBe('subscriber');
      expect(await page.content()).toContain('https://example.com/pricing');
      await Promise.all([page.waitForURL(/recorded=appointment_booked/), page.click('button[name="outcome"][value="appointment_booked"]')]);
      expect(await page.textContent('.contact .stage')).toBe('lead');
      expect(await page.textContent('.flash')).toContain('is now lead');
      expect(problems).toEqual([]);

      // The phone: the queue at 390x844.
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(`${base}/inbox`);
      expect(await shown()).toEqual([arrived, ids.calQueued]);
      await page.screenshot({ path: PHONE_SCREENSHOT, fullPage: true });
    } finally {
      await context.close();
    }
  }, 90_000);
});
