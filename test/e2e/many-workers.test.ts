import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/db/database.js';
import { SequenceRegistry } from '../../src/engine/sequence-registry.js';
import { EVENT_JOB, EVENTS_QUEUE, eventJobId } from '../../src/workers/queues.js';
import type { Daemon } from '../support/cli.js';
import { buildCli, startDaemon } from '../support/cli.js';
import { createTestDatabase } from '../support/databases.js';
import { deleteQueueKeys, eventually, TEST_TEMPLATES } from '../support/engine.js';
import { programFromYaml } from '../support/programs.js';
import { REDIS_TEST_URL } from '../support/services.js';
import type { TestSmtp } from '../support/smtp.js';
import { startTestSmtp } from '../support/smtp.js';

/**
 * Four `nurture worker` processes on one Redis and one PostgreSQL, each with its own pools and
 * sweeper, while events flow in waves; one of them is killed with SIGKILL again and again and
 * started again. Per contact: one enrollment, its three emails in sequence order, each touch
 * once (a message repeated only when it was in doubt, with its Message-ID), every event applied
 * once, and applied one after the other: the contact's state is what the events left in the
 * order they were applied.
 */
const SEQUENCE = `id: many
trigger: { event: opt_in }
steps:
  - email: welcome
  - wait: 1 second
  - email: guide
  - wait: 1 second
  - email: nudge
`;
const SUBJECTS = ['Welcome friend', 'Your guide', 'Still there?'];
const CONTACTS = 60;
/** Events after each contact's opt-in, in waves: each sets attributes the next one merges into. */
const FOLLOW_UPS = 4;
const WORKERS = 4;
const KILLS = 3;

describe('four nurture worker processes, one killed repeatedly', () => {
  let work: string;
  let db: { url: string; drop(): Promise<void> };
  let smtp: TestSmtp;
  let env: NodeJS.ProcessEnv;
  let prefix: string;
  let redis: Redis;
  let events: Queue;
  const workers: Daemon[] = [];

  beforeAll(async () => {
    buildCli();
    work = await mkdtemp(path.join(tmpdir(), 'nurture-many-'));
    await mkdir(path.join(work, 'templates'));
    for (const name of ['welcome', 'guide', 'nudge']) await writeFile(path.join(work, 'templates', `${name}.hbs`), TEST_TEMPLATES[name]!);
    db = await createTestDatabase();
    smtp = await startTestSmtp();
    prefix = `many${randomBytes(4).toString('hex')}`;
    // Worker processes read the live sequences from the database: publish them as `nurture start` would.
    const store = await openStore({ databaseUrl: db.url, dataDir: path.join(work, '.nurture'), poolSize: 1 });
    try {
      await new SequenceRegistry(store.db, { templatesDir: path.join(work, 'templates') }).publish([{ file: 'many.yaml', program: programFromYaml(SEQUENCE) }]);
    } finally {
      await store.close();
    }
    env = {
      PATH: process.env.PATH,
      DATABASE_URL: db.url,
      REDIS_URL: REDIS_TEST_URL,
      SMTP_URL: smtp.url,
      NURTURE_QUEUE_PREFIX: prefix,
      NURTURE_DATA_DIR: path.join(work, '.nurture'),
      NURTURE_SECRET: 'many-secret-0123456789abcdef0123456789abcdef',
      NURTURE_PUBLIC_URL: 'http://nurture.test',
      // A killed process's jobs come back within a second or two.
      NURTURE_LOCK_MS: '2000',
      NURTURE_SWEEP_INTERVAL_MS: '300',
      // Four processes on a Postgres other test files share: small pools (see "Running at scale").
      NURTURE_DB_POOL: '4',
      NURTURE_LOG_LEVEL: 'info',
    };
    redis = new Redis(REDIS_TEST_URL);
    events = new Queue(EVENTS_QUEUE, { connection: redis, prefix });
  }, 120_000);

  afterAll(async () => {
    for (const d of workers) if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
    await Promise.all(workers.map((d) => d.exited));
    await events?.close();
    if (redis) {
      await deleteQueueKeys(redis, prefix);
      redis.disconnect();
    }
    await smtp?.close();
    await db?.drop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const worker = () => startDaemon(['worker'], { env, cwd: work });

  it('keeps per-contact order and sends every touch once while one of them is killed with SIGKILL', async () => {
    const t0 = Date.now();
    workers.push(...(await Promise.all(Array.from({ length: WORKERS }, () => worker()))));
    const booted = Date.now();
    const emailOf = (c: number) => `many-${c}@example.com`;
    const job = (id: string, type: string, c: number, attributes: Record<string, unknown>, jobSuffix = '') => ({
      name: EVENT_JOB,
      data: { id, type, occurredAt: new Date().toISOString(), contact: { email: emailOf(c), attributes }, data: {} },
      opts: { jobId: eventJobId(`${id}${jobSuffix}`) },
    });

    const allEvents = CONTACTS * (FOLLOW_UPS + 1);
    const allTouches = CONTACTS * SUBJECTS.length;
    // The killer: SIGKILL the first worker, start it again, over and over while work is in flight.
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const count = async (q: string) => (await client.query(q)).rows[0].n as number;
    const kills: { events: number; sent: number }[] = [];
    // The first kill while events are applied, the others spread over the sending.
    const killer = (async () => {
      for (let k = 0; k < KILLS; k++) {
        if (k === 0) await eventually(async () => (await count(`select count(*)::int as n from events`)) > 0, 'events being applied', 30_000);
        else await eventually(async () => smtp.received.length >= Math.floor((k * allTouches) / KILLS), `${k}/${KILLS} of the mail sent`, 60_000);
        const victim = workers[0]!;
        victim.child.kill('SIGKILL');
        await victim.exited;
        kills.push({ events: await count(`select count(*)::int as n from events`), sent: smtp.received.length });
        workers[0] = await worker();
      }
    })();

    // Waves: every contact's opt-in, then its follow-ups one wave at a time; each wave is also
    // sent a second time under other job ids, as a producer retrying after a timeout would.
    for (let wave = 0; wave <= FOLLOW_UPS; wave++) {
      const jobs = Array.from({ length: CONTACTS }, (_, c) => {
        const id = wave === 0 ? `optin-${c}` : `visit-${c}-${wave}`;
        const type = wave === 0 ? 'opt_in' : 'page_visited';
        const attributes = { last: wave, [`w${wave}`]: true };
        return [job(id, type, c, attributes), job(id, type, c, attributes, '-again')];
      });
      await events.addBulk(jobs.flat());
      await new Promise((r) => setTimeout(r, 300));
    }
    const emitted = Date.now();
    await killer;
    const killed = Date.now();

    try {
      await eventually(async () => (await count(`select count(*)::int as n from events`)) === allEvents, `all ${allEvents} events applied`, 60_000);
      await eventually(async () => (await count(`select count(*)::int as n from touches where status = 'sent'`)) === allTouches, `all ${allTouches} touches sent`, 60_000);
      const applied = Date.now();
      await eventually(async () => new Set(smtp.received.map((m) => m.messageId)).size === allTouches, 'every message at the SMTP sink', 20_000);
      const done = Date.now();

      // The kills came while work was flowing, not after it was done.
      expect(kills).toHaveLength(KILLS);
      // (The first kill comes once events are being applied; the others after a third and two
      // thirds of the mail, so at least one lands while mail is still due.)
      expect(kills.some((k) => k.sent < allTouches)).toBe(true);

      // Exactly once: one enrollment per contact, one touch per step, every message once unless in doubt.
      expect(await count(`select count(*)::int as n from enrollments`)).toBe(CONTACTS);
      expect(await count(`select count(distinct contact_id)::int as n from enrollments`)).toBe(CONTACTS);
      expect(await count(`select count(*)::int as n from touches where status <> 'sent'`)).toBe(0);
      const touches = (await client.query(`select t.message_id, t.in_doubt, t.step_id, c.email from touches t join contacts c on c.id = t.contact_id`)).rows as {
        message_id: string;
        in_doubt: boolean;
        step_id: string;
        email: string;
      }[];
      expect(touches).toHaveLength(allTouches);
      expect(new Set(touches.map((t) => `${t.email}/${t.step_id}`)).size).toBe(allTouches);
      const received = new Map<string, number>();
      for (const m of smtp.received) received.set(m.messageId, (received.get(m.messageId) ?? 0) + 1);
      expect(new Set(received.keys())).toEqual(new Set(touches.map((t) => t.message_id)));
      const inDoubt = new Set(touches.filter((t) => t.in_doubt).map((t) => t.message_id));
      const repeated = [...received].filter(([, n]) => n > 1).map(([id]) => id);
      for (const id of repeated) expect(inDoubt.has(id)).toBe(true);
      expect(Math.max(...received.values())).toBeLessThanOrEqual(2);

      // Per contact, in order: the touches committed in sequence order; the
      // attributes of every event merged, and `last` from the event applied last (arrival order).
      const lastApplied = (await client.query(
        `select distinct on (contact_id) contact_id, (contact->'attributes'->>'last')::int as last from events order by contact_id, seq desc`,
      )).rows as { contact_id: string; last: number }[];
      const lastByContact = new Map(lastApplied.map((r) => [r.contact_id, r.last]));
      const contacts = (await client.query(`select id, email, attributes from contacts`)).rows as { id: string; email: string; attributes: Record<string, unknown> }[];
      expect(contacts).toHaveLength(CONTACTS);
      const stepsInOrder = (await client.query(`select contact_id, array_agg(step_id order by created_at, due_at) as steps from touches group by contact_id`)).rows as { contact_id: string; steps: string[] }[];
      expect(stepsInOrder).toHaveLength(CONTACTS);
      for (const row of stepsInOrder) expect(row.steps).toEqual(['welcome', 'guide', 'nudge']);
      // Delivery order is not promised across a crash: a send cut short by SIGKILL is retried
      // once its lock expires, by which time the next step's email may have gone out. Counted.
      let delivered = 0;
      for (const c of contacts) {
        const subjects = smtp.received.filter((m) => m.to === c.email).map((m) => m.subject);
        expect(new Set(subjects)).toEqual(new Set(SUBJECTS));
        if ([...new Set(subjects)].join('|') !== SUBJECTS.join('|')) delivered++;
        for (let wave = 0; wave <= FOLLOW_UPS; wave++) expect(c.attributes[`w${wave}`]).toBe(true);
        expect(c.attributes.last).toBe(lastByContact.get(c.id));
      }
      expect(await count(`select count(*)::int as n from (select contact_id, type, count(*) from events group by 1, 2 having count(*) <> case when type = 'opt_in' then 1 else ${FOLLOW_UPS} end) x`)).toBe(0);
      process.stdout.write(
        `many workers: ${WORKERS} processes booted in ${booted - t0} ms, events emitted at ${emitted - t0} ms, kills done at ${killed - t0} ms, all sent at ${applied - t0} ms and received at ${done - t0} ms, ${KILLS} SIGKILLs (events applied at each: ${kills.map((k) => k.events).join(', ')}), ${smtp.received.length} messages for ${allTouches} touches, ${repeated.length} repeated (all in doubt), ${delivered} contacts whose emails arrived out of step order\n`,
      );
    } finally {
      await client.end();
    }

    // SIGTERM drains and every process exits cleanly.
    for (const d of workers) d.child.kill('SIGTERM');
    expect(await Promise.all(workers.map((d) => d.exited))).toEqual(workers.map(() => 0));
  }, 150_000);
});
