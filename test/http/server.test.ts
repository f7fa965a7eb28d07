import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordServiceHealth } from '../../src/db/service-health-repository.js';
import type { TestEngine } from '../support/engine.js';
import { startTestEngine, testConfig, writeTemplates } from '../support/engine.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';
import type { TestSmtp } from '../support/smtp.js';
import { startTestSmtp } from '../support/smtp.js';

/** The HTTP server itself, through a real listening socket: liveness, readiness, error shape. */
describe('HTTP server', () => {
  let store: TestStore;
  let smtp: TestSmtp;
  let templatesDir: string;
  let t: TestEngine;
  let base: string;

  beforeAll(async () => {
    store = await createTestStore('postgres');
    smtp = await startTestSmtp();
    templatesDir = await writeTemplates();
    t = await startTestEngine({ store, sequences: [], templatesDir, http: true, sweeper: false, config: testConfig({ SMTP_URL: smtp.url }) });
    base = t.engine.http!.url;
  });

  afterAll(async () => {
    await t?.stop();
    await smtp?.close();
    await store?.cleanup();
    await rm(templatesDir, { recursive: true, force: true });
  });

  it('answers /healthz while the process is up', async () => {
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('is ready when the database, Redis and the mail server answer', async () => {
    const res = await fetch(`${base}/readyz`);
    const body = (await res.json()) as { status: string; checks: { name: string; ok: boolean }[] };
    expect(res.status).toBe(200);
    expect(body.status).toBe('ready');
    expect(body.checks.map((c) => [c.name, c.ok])).toEqual([
      ['database', true],
      ['redis', true],
      ['mail', true],
    ]);
  });

  it('answers unknown routes with a JSON error that has a code', async () => {
    const res = await fetch(`${base}/nope?x=1`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no route GET /nope' } });
  });

  it('links in mail start with the address it listens on when NURTURE_PUBLIC_URL is unset', () => {
    expect(t.engine.deps.links.publicUrl).toBe(base);
    expect(t.engine.deps.links.standard({ touchId: '6f1e0c8a-0000-4000-8000-000000000001' }).unsubscribe).toMatch(new RegExp(`^${base}/u/[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$`));
  });
});

/** Readiness when the mail server is down: 503, naming it. */
describe('HTTP readiness with the mail transport down', () => {
  let store: TestStore;
  let templatesDir: string;
  let t: TestEngine;

  beforeAll(async () => {
    store = await createTestStore('postgres');
    templatesDir = await writeTemplates();
    // A sender of the test's own: the server reads the transport's state as the senders recorded it.
    const mail = { send: () => Promise.reject(new Error('unused')), close: async () => {}, describe: () => 'test' };
    t = await startTestEngine({ store, sequences: [], templatesDir, http: true, sweeper: false, mail });
    const at = new Date();
    await recordServiceHealth(store.db, 'mail', { state: 'down', detail: 'smtp://127.0.0.1:1: connect ECONNREFUSED', since: at, checkedAt: at });
  });

  afterAll(async () => {
    await t?.stop();
    await store?.cleanup();
    await rm(templatesDir, { recursive: true, force: true });
  });

  it('answers 503 naming the service that does not answer', async () => {
    const res = await fetch(`${t.engine.http!.url}/readyz`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { status: string; checks: { name: string; ok: boolean; reason?: string }[]; error: { code: string; message: string } };
    expect(body.status).toBe('unavailable');
    expect(body.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['mail']);
    expect(body.error.code).toBe('SERVICE_UNAVAILABLE');
    expect(body.error.message).toContain('mail: mail transport down: smtp://127.0.0.1:1: connect ECONNREFUSED');
  });
});
