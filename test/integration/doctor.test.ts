import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { runDoctor } from '../../src/app/doctor.js';
import { migrateDatabase } from '../../src/db/database.js';
import { ROOT, buildCli, runCli } from '../support/cli.js';
import { freePort } from '../support/net.js';
import { createTestDatabase } from '../support/databases.js';
import { REDIS_TEST_URL } from '../support/services.js';
import type { TestSmtp } from '../support/smtp.js';
import { startTestSmtp } from '../support/smtp.js';

/** `nurture doctor` against the real services of this machine, and against services that are not there. */
describe('nurture doctor', () => {
  let smtp: TestSmtp;
  let dir: string;
  let keyFile: string;
  let appendonly: string;
  // Its own database, migrated as the engine's start leaves it; a shared one carries other runs' history.
  let database: Awaited<ReturnType<typeof createTestDatabase>>;

  beforeAll(async () => {
    smtp = await startTestSmtp();
    database = await createTestDatabase();
    await migrateDatabase({ databaseUrl: database.url, dataDir: '/tmp/nurture-unused', poolSize: 1 });
    dir = await mkdtemp(path.join(tmpdir(), 'nurture-doctor-'));
    keyFile = path.join(dir, 'dkim.pem');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const r = new Redis(REDIS_TEST_URL);
    appendonly = ((await r.config('GET', 'appendonly')) as string[])[1]!;
    r.disconnect();
  });
  afterAll(async () => {
    await smtp?.close();
    await database?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const healthy = () => ({ DATABASE_URL: database.url, REDIS_URL: REDIS_TEST_URL, SMTP_URL: smtp.url, NURTURE_DATA_DIR: dir });
  const examples = { sequencesDir: path.join(ROOT, 'examples/sequences'), templatesDir: path.join(ROOT, 'examples/templates') };

  it('finds nothing to fix on a healthy installation', async () => {
    const report = await runDoctor({ env: healthy(), ...examples, dkimKeyFile: keyFile });
    const status = Object.fromEntries(report.checks.map((c) => [c.name, c.status]));
    expect(status).toEqual({
      configuration: 'ok',
      database: 'ok',
      clock: 'ok',
      migrations: 'ok',
      redis: 'ok',
      // This machine's Redis decides: CI starts one without AOF.
      'redis persistence': appendonly === 'yes' ? 'ok' : 'warn',
      smtp: 'ok',
      'dkim key': 'ok',
      'sequences and templates': 'ok',
    });
    expect(report.ok).toBe(true);
  });

  it('says which migrations are pending, and applies none of them', async () => {
    const fresh = await createTestDatabase();
    try {
      const report = await runDoctor({ env: { ...healthy(), DATABASE_URL: fresh.url }, ...examples });
      const check = report.checks.find((c) => c.name === 'migrations')!;
      expect(check).toMatchObject({ status: 'warn', fix: expect.stringContaining('nurture migrate') });
      expect(check.detail).toMatch(/^\d+ migration\(s\) of this release not applied yet: 2026-11-23T000000-initial, /);
      expect(report.ok).toBe(true);
      // Nothing was created: the doctor only looked.
      const c = new pg.Client({ connectionString: fresh.url });
      await c.connect();
      try {
        expect((await c.query(`select count(*)::int as n from pg_tables where schemaname = 'public'`)).rows[0].n).toBe(0);
      } finally {
        await c.end();
      }
    } finally {
      await fresh.drop();
    }
  });

  it('names every service that is down, each with a fix, and the CLI exits 1 (also with --json)', async () => {
    const dead = await freePort();
    const env = { ...process.env, DATABASE_URL: `postgres://nobody@127.0.0.1:${dead}/x`, REDIS_URL: `redis://127.0.0.1:${dead}`, SMTP_URL: `smtp://127.0.0.1:${dead}`, NURTURE_DATA_DIR: dir, NURTURE_TYPO: 'x' };
    const report = await runDoctor({ env, ...examples, dkimKeyFile: path.join(dir, 'missing.pem'), timeoutMs: 3_000 });
    const failed = report.checks.filter((c) => c.status === 'fail');
    expect(failed.map((c) => c.name)).toEqual(['database', 'redis', 'smtp', 'dkim key']);
    for (const c of failed) expect(c.fix).toBeTruthy();
    expect(report.checks.find((c) => c.name === 'configuration')).toMatchObject({ status: 'warn', detail: expect.stringContaining('NURTURE_TYPO') });

    buildCli();
    const cli = await runCli(['doctor', '--json', '--sequences', examples.sequencesDir, '--templates', examples.templatesDir], { env });
    expect(cli.code).toBe(1);
    const json = JSON.parse(cli.stdout) as { ok: boolean; checks: { name: string; status: string }[] };
    expect(json.ok).toBe(false);
    expect(json.checks.filter((c) => c.status === 'fail').map((c) => c.name)).toEqual(['database', 'redis', 'smtp']);
    const text = await runCli(['doctor', '--sequences', examples.sequencesDir, '--templates', examples.templatesDir], { env });
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^FAIL redis: Redis is not answering/m);
    expect(text.stdout).toContain('fix: start Redis or correct REDIS_URL');
  }, 180_000);
});
