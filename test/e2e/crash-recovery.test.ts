import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
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
import type { TestSmtp } from '../support/smtp.js';
import { startTestSmtp } from '../support/smtp.js';

/**
 * `nurture start` as a child process, driven only through the CLI and the queue, killed with
 * SIGKILL in the middle of a run and started again. Counted exactly: every touch arrives; a
 * message received twice is only ever an in-doubt send, with its original Message-ID.
 */
const SEQUENCE = `id: burst
trigger: { event: opt_in }
steps:
  - email: welcome
  - wait: 1 second
  - email: guide
  - wait: 1 second
  - email: nudge
`;
const CONTACTS = 150;
const EMAILS_EACH = 3;
/** The SMTP server keeps this message but never says so: the crash comes while it is unanswered. */
const HELD = 120;

describe('nurture start, killed with SIGKILL mid-run and restarted', () => {
  let work: string;
  let db: { url: string; drop(): Promise<void> };
  let smtp: TestSmtp;
  let env: NodeJS.ProcessEnv;
  let daemon: Daemon | undefined;
  let extra: Daemon | undefined;
  let prefix: string;

  beforeAll(async () => {
    buildCli();
    work = await mkdtemp(path.join(tmpdir(), 'nurture-e2e-'));
    await mkdir(path.join(work, 'sequences'));
    await mkdir(path.join(work, 'templates'));
    await writeFile(path.join(work, 'sequences', 'burst.yaml'), SEQUENCE);
    for (const name of ['welcome', 'guide', 'nudge']) await writeFile(path.join(work, 'templates', `${name}.hbs`), TEST_TEMPLATES[name]!);
    db = await createTestDatabase();
    smtp = await startTestSmtp({ holdNth: HELD });
    prefix = `e2e${randomBytes(4).toString('hex')}`;
    env = {
      PATH: process.env.PATH,
      DATABASE_URL: db.url,
      REDIS_URL: REDIS_TEST_URL,
      SMTP_URL: smtp.url,
      NURTURE_QUEUE_PREFIX: prefix,
      NURTURE_DATA_DIR: path.join(work, '.nurture'),
      NURTURE_HTTP_PORT: '0',
      NURTURE_SECRET: 'e2e-secret-0123456789abcdef0123456789abcdef',
      NURTURE_LOCK_MS: '2000',
      NURTURE_SWEEP_INTERVAL_MS: '300',
      NURTURE_LOG_LEVEL: 'info',
    };
  }, 120_000);

  afterAll(async () => {
    for (const d of [daemon, extra]) if (d && d.child.exitCode === null) d.child.kill('SIGKILL');
    await smtp?.close();
    await db?.drop();
    const redis = new Redis(REDIS_TEST_URL);
    await deleteQueueKeys(redis, prefix);
    redis.disconnect();
    await rm(work, { recursive: true, force: true });
  });

  it('loses no touch and repeats none except in-doubt sends, with the same Message-ID', async () => {
    daemon = await startDaemon(['start'], { env, cwd: work });
    const lines = Array.from({ length: CONTACTS }, (_, i) =>
      JSON.stringify({ id: `optin-${i}`, type: 'opt_in', occurredAt: new Date().toISOString(), contact: { email: `c${i}@example.com` }, data: {} }),
    );
    await writeFile(path.join(work, 'events.jsonl'), `${lines.join('\n')}\n`);
    const emitted = await runCli(['emit', '--file', 'events.jsonl'], { env, cwd: work });
    expect(emitted.stdout).toContain(`emitted ${CONTACTS} event(s)`);

    // Kill it while mail is flowing: some contacts are mid-sequence, some sends mid-flight, and
    // one message is at the SMTP server with no answer yet.
    await eventually(async () => smtp.received.length >= CONTACTS, 'the first wave of mail', 60_000);
    const held = smtp.received[HELD - 1]!.messageId;
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    const atKill = smtp.received.length;
    expect(atKill).toBeLessThan(CONTACTS * EMAILS_EACH);

    // The same opt-ins again: a producer retrying after the crash must not double anything.
    await runCli(['emit', '--file', 'events.jsonl'], { env, cwd: work });
    // Back with two processes: the engine and one more worker, sharing the queues and the database.
    daemon = await startDaemon(['start'], { env, cwd: work });
    extra = await startDaemon(['worker'], { env, cwd: work });
    const expected = CONTACTS * EMAILS_EACH;
    await eventually(async () => new Set(smtp.received.map((m) => m.messageId)).size >= expected, `all ${expected} distinct messages`, 90_000);

    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      // Let anything still in flight settle before counting.
      await eventually(async () => {
        const r = await client.query(`select count(*)::int as n from touches where status in ('pending','sending')`);
        return r.rows[0].n === 0;
      }, 'no touch left pending', 30_000);
      const touches = await client.query(`select status, in_doubt, message_id, step_id from touches order by message_id`);
      expect(touches.rows).toHaveLength(expected);
      expect(touches.rows.every((t) => t.status === 'sent')).toBe(true);
      const inDoubt = new Set(touches.rows.filter((t) => t.in_doubt).map((t) => t.message_id as string));

      const byId = new Map<string, number>();
      for (const m of smtp.received) byId.set(m.messageId, (byId.get(m.messageId) ?? 0) + 1);
      expect(byId.size).toBe(expected);
      expect(new Set(byId.keys())).toEqual(new Set(touches.rows.map((t) => t.message_id as string)));
      const repeated = [...byId].filter(([, n]) => n > 1).map(([id]) => id);
      for (const id of repeated) expect(inDoubt.has(id)).toBe(true);
      expect(Math.max(...byId.values())).toBeLessThanOrEqual(2);
      // The unanswered one was sent again after the restart, with its Message-ID, and counted in doubt.
      expect(byId.get(held)).toBe(2);
      expect(inDoubt.has(held)).toBe(true);

      const perContact = await client.query(`select count(distinct contact_id)::int as n, count(*)::int as e from enrollments`);
      expect(perContact.rows[0]).toEqual({ n: CONTACTS, e: CONTACTS });
      const events = await client.query(`select count(*)::int as n from events`);
      expect(events.rows[0].n).toBe(CONTACTS);
      process.stdout.write(`crash test: ${atKill} messages before SIGKILL, ${smtp.received.length} received in all, ${repeated.length} repeated (all in doubt), ${inDoubt.size} marked in doubt\n`);
    } finally {
      await client.end();
    }

    // SIGTERM drains and exits cleanly.
    for (const d of [daemon, extra]) d.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    expect(await extra.exited).toBe(0);
    expect(daemon.output()).toContain('stopped cleanly');
  }, 240_000);
});
