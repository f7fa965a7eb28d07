import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Daemon } from '../support/cli.js';
import { ROOT, buildCli, runCli, startDaemon } from '../support/cli.js';
import { deleteQueueKeys, eventually } from '../support/engine.js';
import { freePort } from '../support/net.js';
import { REDIS_TEST_URL } from '../support/services.js';

/**
 * The README's quick start, as a new user runs it: the example sequence on the embedded store
 * (no DATABASE_URL), mail to .eml files, and every other command in a second terminal reaching
 * the running engine's store.
 */
describe('quick start on the embedded store', () => {
  let work: string;
  let env: NodeJS.ProcessEnv;
  let daemon: Daemon | undefined;
  let prefix: string;
  let httpPort: number;
  const cli = (...args: string[]) => runCli(args, { env, cwd: work });
  const json = async (...args: string[]) => {
    const r = await cli(...args, '--json');
    if (r.code !== 0) throw new Error(`nurture ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };

  beforeAll(async () => {
    buildCli();
    work = await mkdtemp(path.join(tmpdir(), 'nurture-qs-'));
    await cp(path.join(ROOT, 'examples/sequences'), path.join(work, 'sequences'), { recursive: true });
    await cp(path.join(ROOT, 'examples/templates'), path.join(work, 'templates'), { recursive: true });
    prefix = `qs${randomBytes(4).toString('hex')}`;
    httpPort = await freePort();
    env = { PATH: process.env.PATH, REDIS_URL: REDIS_TEST_URL, NURTURE_QUEUE_PREFIX: prefix, NURTURE_SWEEP_INTERVAL_MS: '300', NURTURE_HTTP_PORT: String(httpPort) };
  }, 120_000);

  afterAll(async () => {
    if (daemon && daemon.child.exitCode === null) daemon.child.kill('SIGKILL');
    const redis = new Redis(REDIS_TEST_URL);
    await deleteQueueKeys(redis, prefix);
    redis.disconnect();
    await rm(work, { recursive: true, force: true });
  });

  it('validates the example', async () => {
    const r = await cli('validate');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('1 sequence(s) and 4 template(s) are valid');
  });

  it('says plainly that extra worker processes need PostgreSQL', async () => {
    const r = await cli('worker');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('nurture worker needs DATABASE_URL');
    expect(r.stderr).not.toContain('    at ');
  });

  it('runs an opt-in to a lead, with staff tasks and figures, all from the CLI', async () => {
    daemon = await startDaemon(['start'], { env, cwd: work });
    expect(daemon.output()).toContain('embedded store');
    // The HTTP edge comes up with the engine, on the port asked for.
    const health = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
    expect(health.status).toBe(200);

    const emitted = await cli('emit', 'opt_in', '--email', 'Ann@Example.com', '--first-name', 'Ann', '--phone', '+15555550100', '--data', '{"source":"website"}');
    expect(emitted.code).toBe(0);
    const contact = await eventually(async () => {
      const c = await json('contacts', 'show', 'ann@example.com');
      return c.touches?.some((t: { status: string }) => t.status === 'sent') ? c : undefined;
    }, 'the welcome email sent');
    expect(contact.enrollments).toHaveLength(1);
    expect(contact.enrollments[0]).toMatchObject({ sequenceId: 'new-opt-in', status: 'active', stepId: 'welcome-wait' });

    const days = await readdir(path.join(work, '.nurture/outbox'));
    const files = await readdir(path.join(work, '.nurture/outbox', days[0]!));
    expect(files).toHaveLength(1);
    const eml = await readFile(path.join(work, '.nurture/outbox', days[0]!, files[0]!), 'utf8');
    expect(eml).toContain('Subject: Welcome, Ann: your guide is on its way');
    expect(eml).toContain('To: ann@example.com');

    // A bad event is kept for operators and the engine carries on.
    const queue = new Queue('nurture-events', { connection: new Redis(REDIS_TEST_URL), prefix });
    await queue.add('event', { id: 'broken-1', type: 'opt_in', occurredAt: 'soon', contact: { email: 'x@example.com' } });
    await queue.close();
    const failed = await eventually(async () => {
      const f = await json('events', 'failed');
      return f.length > 0 ? f : undefined;
    }, 'the bad event listed');
    expect(failed[0]).toMatchObject({ eventId: 'broken-1', field: 'occurredAt' });

    await cli('emit', 'info_requested', '--email', 'ann@example.com', '--data', '{"topic":"pricing"}');
    const lead = await eventually(async () => {
      const c = await json('contacts', 'show', 'ann@example.com');
      return c.contact.status === 'lead' ? c : undefined;
    }, 'promotion to lead');
    expect(lead.enrollments[0]).toMatchObject({ status: 'exited', exitReason: 'promoted' });

    const tasks = await json('tasks', '--kind', 'call');
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ priority: 'high', phone: '+15555550100', status: 'open' });

    const done = await cli('tasks', 'done', String(tasks[0].id), '--outcome', 'connected', '--note', 'talked: booked a demo');
    expect(done.code).toBe(0);
    expect((await json('tasks', '--status', 'open'))).toHaveLength(0);

    const stats = await json('stats');
    expect(stats).toMatchObject({ optedIn: 1, leads: 1, converted: 1, conversionPercent: 100 });

    // A marketer's edit: validate shows what it does to contacts in flight, SIGHUP makes it live.
    await cli('emit', 'opt_in', '--email', 'bob@example.com', '--data', '{"source":"website"}');
    await eventually(async () => (await json('contacts', 'show', 'bob@example.com')).enrollments?.length === 1, 'bob enrolled');
    const file = path.join(work, 'sequences/new-opt-in.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace(/^  - wait: 2 days\n/m, '  - wait: 1 day\n  - wait: 1 day\n'));
    const check = await cli('validate');
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('1 contact at step welcome-wait stays at step welcome-wait');
    daemon.child.kill('SIGHUP');
    await eventually(async () => daemon!.output().includes('new version is live'), 'the edit to go live');
    expect(daemon.output()).toContain('in flight: 1 contact at step welcome-wait stays at step welcome-wait');

    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
  }, 120_000);
});
