import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Daemon } from '../support/cli.js';
import { buildCli, runCli, startDaemon } from '../support/cli.js';
import { deleteQueueKeys, eventually, TEST_TEMPLATES } from '../support/engine.js';
import type { PrivatePostgres } from '../support/private-postgres.js';
import { startPrivatePostgres } from '../support/private-postgres.js';
import { REDIS_TEST_URL } from '../support/services.js';

/**
 * `nurture start` against a PostgreSQL of the test's own, restarted with `pg_ctl restart -m
 * immediate` in the middle of a burst of 3,000 opt-ins. Before connections that die while
 * checked out were handled, the process died (`Unhandled 'error' event ... Connection terminated
 * unexpectedly`). It must stay up, and every contact must end up enrolled exactly once.
 */
const SEQUENCE = `id: burst
trigger: { event: opt_in }
steps:
  - email: welcome
  - wait: 1 day
  - email: guide
`;
const CONTACTS = 3_000;

describe('nurture start while PostgreSQL restarts under load', () => {
  let work: string;
  let server: PrivatePostgres | undefined;
  let env: NodeJS.ProcessEnv;
  let daemon: Daemon | undefined;
  let prefix: string;

  beforeAll(async () => {
    buildCli();
    work = await mkdtemp(path.join(tmpdir(), 'nurture-e2e-pg-'));
    await mkdir(path.join(work, 'sequences'));
    await mkdir(path.join(work, 'templates'));
    await writeFile(path.join(work, 'sequences', 'burst.yaml'), SEQUENCE);
    for (const name of ['welcome', 'guide']) await writeFile(path.join(work, 'templates', `${name}.hbs`), TEST_TEMPLATES[name]!);
    server = await startPrivatePostgres();
    prefix = `e2epg${randomBytes(4).toString('hex')}`;
    env = {
      PATH: process.env.PATH,
      DATABASE_URL: server.url,
      REDIS_URL: REDIS_TEST_URL,
      NURTURE_QUEUE_PREFIX: prefix,
      NURTURE_DATA_DIR: path.join(work, '.nurture'),
      NURTURE_HTTP_PORT: '0',
      NURTURE_SECRET: 'e2e-secret-0123456789abcdef0123456789abcdef',
      NURTURE_SWEEP_INTERVAL_MS: '500',
      NURTURE_LOG_LEVEL: 'info',
    };
  }, 120_000);

  afterAll(async () => {
    if (daemon && daemon.child.exitCode === null) daemon.child.kill('SIGKILL');
    await daemon?.exited;
    await server?.stop();
    const redis = new Redis(REDIS_TEST_URL);
    await deleteQueueKeys(redis, prefix);
    redis.disconnect();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('stays up and enrolls every contact exactly once', async () => {
    daemon = await startDaemon(['start'], { env, cwd: work });
    const half = CONTACTS / 2;
    const batch = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, k) => {
        const i = from + k;
        return JSON.stringify({ id: `optin-${i}`, type: 'opt_in', occurredAt: new Date().toISOString(), contact: { email: `c${i}@example.com` }, data: {} });
      }).join('\n');
    await writeFile(path.join(work, 'first.jsonl'), `${batch(0, half)}\n`);
    await writeFile(path.join(work, 'second.jsonl'), `${batch(half, CONTACTS)}\n`);

    const client = new pg.Client({ connectionString: server!.url });
    const enrolled = async (): Promise<{ n: number; contacts: number }> => {
      const c = new pg.Client({ connectionString: server!.url });
      c.on('error', () => {});
      await c.connect();
      try {
        const r = await c.query('select count(*)::int as n, count(distinct contact_id)::int as contacts from enrollments');
        return r.rows[0];
      } finally {
        await c.end();
      }
    };

    expect((await runCli(['emit', '--file', 'first.jsonl'], { env, cwd: work })).stdout).toContain(`emitted ${half} event(s)`);
    // Restart once the engine is busy with the burst: transactions and pooled connections in flight.
    const before = await eventually(async () => {
      const e = await enrolled();
      return e.n >= 200 ? e : undefined;
    }, 'the first 200 enrollments', 60_000);
    const restarting = server!.restart('immediate');
    const second = runCli(['emit', '--file', 'second.jsonl'], { env, cwd: work });
    await restarting;
    expect((await second).stdout).toContain(`emitted ${half} event(s)`);
    const atRestart = before.n;

    const died = daemon.exited.then((code) => {
      throw new Error(`nurture start exited (code ${code}) after the restart:\n${daemon!.output().slice(-3_000)}`);
    });
    const end = await Promise.race([
      eventually(async () => {
        const e = await enrolled();
        return e.n >= CONTACTS ? e : undefined;
      }, `all ${CONTACTS} contacts enrolled`, 120_000),
      died,
    ]);
    died.catch(() => {}); // the race is decided; a later exit is checked below
    expect(daemon.child.exitCode).toBeNull();
    expect(end).toEqual({ n: CONTACTS, contacts: CONTACTS });

    await client.connect();
    try {
      const contacts = await client.query('select count(*)::int as n from contacts');
      expect(contacts.rows[0].n).toBe(CONTACTS);
      const events = await client.query('select count(*)::int as n from events');
      expect(events.rows[0].n).toBe(CONTACTS);
      const failed = await client.query('select count(*)::int as n from failed_events');
      expect(failed.rows[0].n).toBe(0);
    } finally {
      await client.end();
    }
    expect(daemon.output()).not.toContain('Unhandled');
    const warnings = new Map<string, number>();
    for (const m of daemon.output().matchAll(/"level":(?:40|50)[^\n]*?"msg":"([^"]*)"/g)) warnings.set(m[1]!, (warnings.get(m[1]!) ?? 0) + 1);
    process.stdout.write(
      `postgres restart test: ${atRestart} enrolled when the restart began; warnings ${JSON.stringify(Object.fromEntries(warnings))}; all ${CONTACTS} enrolled once\n`,
    );

    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
  }, 240_000);
});
