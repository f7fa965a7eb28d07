import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/db/database.js';
import type { Store } from '../../src/db/database.js';
import { applyEvent } from '../../src/engine/apply-event.js';
import type { EngineDeps } from '../../src/engine/engine-deps.js';
import { buildCli, runCli } from '../support/cli.js';
import { createTestDatabase } from '../support/databases.js';
import { createTestDeps, deleteQueueKeys, writeTemplates } from '../support/engine.js';
import { REDIS_TEST_URL } from '../support/services.js';
import { programFromYaml } from '../support/programs.js';

/**
 * What the compiled CLI prints about contacts and tasks, read back from real PostgreSQL: values
 * from outside never reach the terminal raw, and each line says what is true of the contact.
 */
const SEQUENCES = {
  nurture: `
id: nurture
trigger: { event: opt_in }
steps:
  - email: welcome
  - wait: 30 days
  - email: monthly
`,
  alert: `
id: alert
trigger: { event: page_visited }
steps:
  - notify: { note: "Looked at pricing", to: sales }
`,
};

describe('CLI output', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let store: Store;
  let deps: EngineDeps;
  let templatesDir: string;
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  const cli = (...args: string[]) => runCli(args, { env });
  const now = () => DateTime.utc();

  beforeAll(async () => {
    buildCli();
    database = await createTestDatabase();
    dataDir = await mkdtemp(path.join(tmpdir(), 'nurture-display-'));
    store = await openStore({ databaseUrl: database.url, dataDir, poolSize: 2 });
    templatesDir = await writeTemplates();
    ({ deps } = await createTestDeps(
      store.db,
      Object.entries(SEQUENCES).map(([id, y]) => ({ file: `${id}.yaml`, program: programFromYaml(y, `${id}.yaml`) })),
      templatesDir,
    ));
    env = { PATH: process.env.PATH, DATABASE_URL: database.url, NURTURE_DATA_DIR: dataDir, NURTURE_HTTP_PORT: '0', NURTURE_SECRET: 'e2e-secret-0123456789abcdef0123456789abcdef', TZ: 'UTC' };
    const contact = { email: 'ann@example.com', firstName: 'Ann\u001b[2J\u001b[H', lastName: 'Lee\u009b31m', timezone: 'America/Chicago' };
    await applyEvent(deps, { id: 'd-1', type: 'opt_in', occurredAt: now().minus({ hours: 2 }).toISO()!, contact, data: {} }, now().minus({ hours: 2 }));
    await applyEvent(deps, { id: 'd-2', type: 'unsubscribed', occurredAt: now().minus({ hours: 1 }).toISO()!, contact: { email: contact.email }, data: {} }, now().minus({ hours: 1 }));
    await applyEvent(deps, { id: 'd-3', type: 'page_visited', occurredAt: now().toISO()!, contact: { email: 'bob@example.com' }, data: { path: '/pricing' } }, now());
  }, 120_000);

  afterAll(async () => {
    await store?.close();
    await database?.drop();
    if (templatesDir) await rm(templatesDir, { recursive: true, force: true });
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('never prints control characters a contact name carries; shows them as escapes', async () => {
    const r = await cli('contacts', 'show', 'ann@example.com');
    expect(r.code).toBe(0);
    // eslint-disable-next-line no-control-regex
    expect(r.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(r.stdout).toContain('Ann\\u001b[2J\\u001b[H Lee\\u009b31m <ann@example.com>');
    const json = await cli('contacts', 'show', 'ann@example.com', '--json');
    expect(json.stdout).not.toMatch(/[\u007f-\u009f]/);
    expect(JSON.parse(json.stdout).contact.lastName).toBe('Lee\u009b31m');
  });

  it('says an unsubscribed contact is unsubscribed, not a subscriber', async () => {
    const r = await cli('contacts', 'show', 'ann@example.com');
    const status = r.stdout.split('\n').find((l) => l.trimStart().startsWith('status'));
    expect(status).toMatch(/status\s+unsubscribed since \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    expect(status).toContain('no email is sent');
    // The lifecycle says when and why, with the event that did it.
    expect(r.stdout).toMatch(/\nLifecycle\n {2}\d{4}-\d\d-\d\d \d\d:\d\d UTC .*unsubscribed \(.+\) event d-2\n/);
    const list = await cli('contacts', 'list');
    expect(list.stdout).toMatch(/ann@example\.com\s+.*unsubscribed \(subscriber\)/);
  });

  it("prints instants in the operator's zone and in the contact's own", async () => {
    const r = await cli('contacts', 'show', 'ann@example.com');
    const optedIn = r.stdout.split('\n').find((l) => l.trimStart().startsWith('opted in'))!;
    const utc = now().minus({ hours: 2 });
    const local = utc.setZone('America/Chicago');
    expect(optedIn).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d UTC \(\d{4}-\d\d-\d\d \d\d:\d\d America\/Chicago\)/);
    expect(optedIn).toContain(`${local.toFormat('yyyy-LL-dd')} `);
    expect(r.stdout).toContain('exited (unsubscribed)');
  });

  it('shows a notice made this minute as due now, not overdue', async () => {
    const r = await cli('tasks');
    expect(r.code).toBe(0);
    const head = r.stdout.split('\n').find((l) => l.includes('notice'))!;
    expect(head).toContain('due now');
    expect(head).not.toContain('OVERDUE');
  });

  it('says "completed" once for an enrollment that finished', async () => {
    const r = await cli('contacts', 'show', 'bob@example.com');
    expect(r.stdout).toMatch(/alert@\w+: completed, enrolled/);
    expect(r.stdout).not.toContain('completed (completed)');
  });

  it('emit --json says which events went on the queue and which lines were rejected', async () => {
    const prefix = `disp${randomBytes(4).toString('hex')}`;
    const file = path.join(dataDir, 'events.jsonl');
    const good = { id: 'j-1', type: 'opt_in', occurredAt: now().toISO(), contact: { email: 'Cy@Example.com' }, data: {} };
    await writeFile(file, `${JSON.stringify(good)}\n{"id":"j-2","type":"opt_in"}\n`);
    const redis = new Redis(REDIS_TEST_URL);
    try {
      const r = await runCli(['emit', '--file', file, '--json'], { env: { ...env, REDIS_URL: REDIS_TEST_URL, NURTURE_QUEUE_PREFIX: prefix } });
      expect(r.code).toBe(1);
      const out = JSON.parse(r.stdout);
      expect(out.emitted).toEqual([{ id: 'j-1', type: 'opt_in', email: 'cy@example.com' }]);
      expect(out.rejected).toHaveLength(1);
      expect(out.rejected[0]).toMatch(/events\.jsonl:2: /);
      const queue = new Queue('nurture-events', { connection: redis, prefix });
      expect(await queue.getJobCounts('waiting')).toMatchObject({ waiting: 1 });
      await queue.close();
    } finally {
      await deleteQueueKeys(redis, prefix);
      await redis.quit();
    }
  });

  it('prints its version', async () => {
    const r = await cli('--version');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^nurture \d+\.\d+\.\d+ \(/);
  });
});
