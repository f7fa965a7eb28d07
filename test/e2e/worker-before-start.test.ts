import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Daemon } from '../support/cli.js';
import { buildCli, runCli, startDaemon } from '../support/cli.js';
import { createTestDatabase } from '../support/databases.js';
import { deleteQueueKeys, eventually, TEST_TEMPLATES } from '../support/engine.js';
import { REDIS_TEST_URL } from '../support/services.js';

/**
 * The foundation issue's reproduction with the real CLI: `nurture worker` started first (nothing
 * is live yet, and it has no templates folder), then `nurture start`, then 5,000 opt-ins with
 * `nurture emit --file`. Both processes take events from the queue; every contact is enrolled
 * exactly once, whichever process applied its event. Then a second sequence goes live (SIGHUP)
 * and the next opt-ins are emitted the moment it is stored: the worker, which did not publish
 * it, enrolls them in it too.
 */
const SEQUENCE = `id: welcome
trigger: { event: opt_in }
steps:
  - wait: 30 days
  - email: welcome
`;
const LATER = `id: later
trigger: { event: opt_in }
steps:
  - wait: 60 days
  - email: welcome
`;
const CONTACTS = 5_000;

describe('nurture worker started before nurture start', () => {
  let work: string;
  let db: { url: string; drop(): Promise<void> };
  let env: NodeJS.ProcessEnv;
  let prefix: string;
  const daemons: Daemon[] = [];

  beforeAll(async () => {
    buildCli();
    work = await mkdtemp(path.join(tmpdir(), 'nurture-e2e-late-'));
    await mkdir(path.join(work, 'sequences'));
    await mkdir(path.join(work, 'templates'));
    await mkdir(path.join(work, 'bare'));
    await writeFile(path.join(work, 'sequences', 'welcome.yaml'), SEQUENCE);
    await writeFile(path.join(work, 'templates', 'welcome.hbs'), TEST_TEMPLATES.welcome!);
    db = await createTestDatabase();
    prefix = `e2e${randomBytes(4).toString('hex')}`;
    env = {
      PATH: process.env.PATH,
      DATABASE_URL: db.url,
      REDIS_URL: REDIS_TEST_URL,
      NURTURE_QUEUE_PREFIX: prefix,
      NURTURE_DATA_DIR: path.join(work, '.nurture'),
      NURTURE_HTTP_PORT: '0',
      NURTURE_SECRET: 'e2e-secret-0123456789abcdef0123456789abcdef',
      NURTURE_LOG_LEVEL: 'info',
    };
  }, 120_000);

  afterAll(async () => {
    for (const d of daemons) if (d.child.exitCode === null) d.child.kill('SIGKILL');
    await Promise.all(daemons.map((d) => d.exited));
    await db?.drop();
    const redis = new Redis(REDIS_TEST_URL);
    await deleteQueueKeys(redis, prefix);
    redis.disconnect();
    await rm(work, { recursive: true, force: true });
  });

  it(`enrolls all ${CONTACTS} contacts exactly once, and the next ${CONTACTS} in a sequence another process just published`, async () => {
    // The worker runs in a folder with no sequences and no templates.
    const worker = await startDaemon(['worker', '--templates', path.join(work, 'bare', 'templates')], { env, cwd: path.join(work, 'bare') });
    daemons.push(worker);
    const engine = await startDaemon(['start'], { env, cwd: work });
    daemons.push(engine);

    const emit = async (prefix: string): Promise<void> => {
      const lines = Array.from({ length: CONTACTS }, (_, i) =>
        JSON.stringify({ id: `${prefix}-${i}`, type: 'opt_in', occurredAt: new Date().toISOString(), contact: { email: `${prefix}${i}@example.com` }, data: {} }),
      );
      await writeFile(path.join(work, `${prefix}.jsonl`), `${lines.join('\n')}\n`);
      const emitted = await runCli(['emit', '--file', `${prefix}.jsonl`], { env, cwd: work });
      expect(emitted.stdout).toContain(`emitted ${CONTACTS} event(s)`);
    };

    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const count = async (q: string): Promise<unknown> => (await client.query(q)).rows[0];
    try {
      await emit('c');
      await eventually(async () => ((await count(`select count(*)::int as n from events`)) as { n: number }).n === CONTACTS, `all ${CONTACTS} events applied`, 120_000);
      expect(await count(`select count(*)::int as e, count(distinct contact_id)::int as n from enrollments where sequence_id = 'welcome'`)).toEqual({ e: CONTACTS, n: CONTACTS });

      await writeFile(path.join(work, 'sequences', 'later.yaml'), LATER);
      engine.child.kill('SIGHUP');
      await eventually(async () => ((await count(`select count(*)::int as n from sequences where id = 'later'`)) as { n: number }).n === 1, 'the second sequence live', 30_000);
      await emit('d');
      await eventually(async () => ((await count(`select count(*)::int as n from events`)) as { n: number }).n === 2 * CONTACTS, `all ${2 * CONTACTS} events applied`, 120_000);
      expect(await count(`select count(*)::int as e, count(distinct contact_id)::int as n from enrollments join contacts on contacts.id = contact_id where email like 'd%' and sequence_id = 'later'`)).toEqual({ e: CONTACTS, n: CONTACTS });
      expect(await count(`select count(*)::int as e from enrollments where sequence_id = 'welcome'`)).toEqual({ e: 2 * CONTACTS });
    } finally {
      await client.end();
    }
    for (const d of [worker, engine]) d.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(await engine.exited).toBe(0);
  }, 240_000);
});
