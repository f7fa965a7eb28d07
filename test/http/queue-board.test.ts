import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestEngine } from '../support/engine.js';
import { startTestEngine, testConfig, writeTemplates } from '../support/engine.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';

/** The operators' queue dashboard (bull-board) at /admin/queues: open to the operator password only. */
const PASSWORD = 'operator-password-123';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('/admin/queues', () => {
  let store: TestStore;
  let templatesDir: string;
  let t: TestEngine;
  let off: TestEngine;

  beforeAll(async () => {
    store = await createTestStore('postgres');
    templatesDir = await writeTemplates();
    t = await startTestEngine({ store, sequences: [], templatesDir, http: true, sweeper: false, config: testConfig({ NURTURE_ADMIN_PASSWORD: PASSWORD }) });
    off = await startTestEngine({ store, sequences: [], templatesDir, http: true, sweeper: false });
  });
  afterAll(async () => {
    await t?.stop();
    await off?.stop();
    await store?.cleanup();
    if (templatesDir) await rm(templatesDir, { recursive: true, force: true });
  });

  it('asks for the operator password, and refuses a wrong one or another user', async () => {
    for (const headers of [{}, { authorization: basic('admin', 'wrong-password-000') }, { authorization: basic('root', PASSWORD) }] as Record<string, string>[]) {
      for (const url of ['/admin/queues', '/admin/queues/api/queues']) {
        const res = await fetch(`${t.engine.http!.url}${url}`, { headers });
        expect(res.status, `${url} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.headers.get('www-authenticate')).toContain('Basic');
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
      }
    }
  });

  it('is off when no operator password is set', async () => {
    const res = await fetch(`${off.engine.http!.url}/admin/queues/api/queues`, { headers: { authorization: basic('admin', PASSWORD) } });
    expect(res.status).toBe(403);
  });

  it('shows the three queues and their jobs to the operator', async () => {
    await t.emitRaw({ not: 'an event' }, 'board-job-1');
    const auth = { authorization: basic('admin', PASSWORD) };
    const page = await fetch(`${t.engine.http!.url}/admin/queues`, { headers: auth });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('Nurture queues');
    const api = await fetch(`${t.engine.http!.url}/admin/queues/api/queues?activeQueue=nurture-events&status=latest`, { headers: auth });
    expect(api.status).toBe(200);
    const body = (await api.json()) as { queues: { name: string }[] };
    expect(body.queues.map((q) => q.name).sort()).toEqual(['nurture-events', 'nurture-sends', 'nurture-wakes']);
  });
});
