import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DateTime } from 'luxon';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestEngine } from '../support/engine.js';
import { startTestEngine, testConfig, writeTemplates } from '../support/engine.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';
import { seedReportData } from '../support/report-data.js';

const NOW = DateTime.fromISO('2026-12-24T00:00:00Z', { zone: 'utc' });
const PASSWORD = 'dashboard-password-123';
const ROOT = path.resolve(import.meta.dirname, '../..');
export const SCREENSHOT = path.join(ROOT, 'docs/screenshots/dashboard.png');

/** Debian's chromium (apt-get install chromium), driven by playwright-core: no browser download. */
const CHROMIUM = process.env.NURTURE_TEST_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** The dashboard in a real browser: the charts draw under the page's CSP, and a screenshot for the README. */
describe('dashboard in a browser', () => {
  let store: TestStore;
  let templatesDir: string;
  let profile: string;
  let t: TestEngine;

  beforeAll(async () => {
    store = await createTestStore('postgres');
    templatesDir = await writeTemplates();
    profile = await mkdtemp(path.join(tmpdir(), 'nurture-chromium-'));
    t = await startTestEngine({ store, sequences: [], templatesDir, http: true, sweeper: false, clock: () => NOW, config: testConfig({ NURTURE_ADMIN_PASSWORD: PASSWORD }) });
    await seedReportData(store.db);
  });

  afterAll(async () => {
    await t?.stop();
    await store?.cleanup();
    await rm(templatesDir, { recursive: true, force: true });
    await rm(profile, { recursive: true, force: true });
  });

  it('draws the funnel, the time-to-lead histogram and the cohort lines, with no error in the console', async () => {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: ARGS,
      headless: true,
      viewport: { width: 1400, height: 1000 },
      httpCredentials: { username: 'admin', password: PASSWORD },
    });
    try {
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(m.text());
      });
      page.on('pageerror', (e) => problems.push(e.message));
      const res = await page.goto(`${t.engine.http!.url}/dashboard`);
      expect(res?.status()).toBe(200);
      await page.waitForSelector('body[data-charts="drawn"]');
      expect(problems).toEqual([]);
      // Each chart painted something: a blank canvas is all transparent pixels.
      for (const id of ['funnel-chart', 'time-chart', 'cohort-chart']) {
        // Runs in the page; the test's tsconfig has no DOM types, hence the structural type.
        type Canvas = { width: number; height: number; getContext(k: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } };
        const painted = await page.$eval(`#${id}`, (c) => {
          const canvas = c as unknown as Canvas;
          const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
          let n = 0;
          for (let i = 3; i < px.length; i += 4) if (px[i]! > 0) n++;
          return n;
        });
        expect(painted, id).toBeGreaterThan(1000);
      }
      expect(await page.textContent('[data-kpi="opted in"] b')).toBe('7');
      await mkdir(path.dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
    } finally {
      await context.close();
    }
  }, 60_000);
});
