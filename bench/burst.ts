/**
 * The burst an `until: "09:30"` makes (BENCH_ONLY=burst), the parked contacts (BENCH_ONLY=parked)
 * and the opt-in to first touch latency at a steady rate (BENCH_ONLY=steady), each on a scratch
 * database and queue prefix of its own, mail delivered over SMTP to a counting sink in a child
 * process (bench/smtp-sink.ts).
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { DateTime } from 'luxon';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import type { Store } from '../src/db/database.js';
import { openStore } from '../src/db/database.js';
import { applyEvent } from '../src/engine/apply-event.js';
import { catchUpReportRollups } from '../src/db/report-rollup-repository.js';
import { createLogger } from '../src/logger.js';
import { loadSequences } from '../src/sequences/load.js';
import { EVENT_JOB, EVENTS_QUEUE } from '../src/workers/queues.js';
import type { RunningEngine } from '../src/workers/runtime.js';
import { startEngine } from '../src/workers/runtime.js';
import { smtpSender } from '../src/workers/mail-transport.js';
import type { MailSender } from '../src/templates/mail-sender.js';

const SEQUENCE = `
id: burst
name: Burst
trigger: { event: opt_in }
steps:
  - wait: 1 hour
  - email: welcome
  - wait: 180 days
  - email: guide
`;
const STEADY = `
id: steady
name: Steady
trigger: { event: opt_in }
steps:
  - email: welcome
  - wait: 180 days
  - email: guide
`;
const TEMPLATES = {
  welcome: '---\nsubject: "Welcome {{default firstName \\"friend\\"}}"\n---\n<p>Hi {{default firstName "there"}}, welcome aboard.</p>\n',
  guide: '---\nsubject: Your guide\n---\n<p>The guide.</p>\n',
};

export interface Sink {
  url: string;
  received(): Promise<number>;
  stop(): Promise<void>;
}

export async function startSink(): Promise<Sink> {
  const child: ChildProcess = fork(path.join(import.meta.dirname, 'smtp-sink.ts'), { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port)));
  return {
    url: `smtp://127.0.0.1:${port}`,
    received: () =>
      new Promise<number>((resolve) => {
        child.once('message', (m: { received: number }) => resolve(m.received));
        child.send({ ask: 'count' });
      }),
    async stop() {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.send({ ask: 'stop' });
      await gone;
    },
  };
}

/**
 * The delivery baseline: the engine's own SMTP sender (nodemailer's pool, with the
 * NURTURE_SMTP_* settings of this run) sending `n` messages of the burst's size to a sink of
 * their own, 200 at a time, nothing else in the process. What one process can deliver at all.
 */
export async function smtpBaseline(n: number): Promise<{ rate: number; cpuMsPerEmail: number; connections: number; threads: number }> {
  const config = loadConfig({ ...process.env, NURTURE_LOG_LEVEL: 'warn' });
  const sink = await startSink();
  try {
    const sender = smtpSender(sink.url, config);
    try {
      return { ...(await sendMany(sender, n)), connections: config.smtp.maxConnections, threads: config.smtp.threads };
    } finally {
      await sender.close();
    }
  } finally {
    await sink.stop();
  }
}

/** `n` messages of the burst's size through `sender`, 200 at a time: the rate and the CPU per message of this process. */
async function sendMany(sender: MailSender, n: number): Promise<{ rate: number; cpuMsPerEmail: number }> {
  const html = '<p>Hi Bench, welcome aboard.</p><img src="https://nurture.example.com/o/t.0123456789abcdef0123456789abcdef.0123456789abcdef" width="1" height="1" alt="">';
  const headers = { 'List-Unsubscribe': '<https://nurture.example.com/u/t.0123456789abcdef.0123456789abcdef>', 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' };
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 200 }, async () => {
      for (let i = next++; i < n; i = next++) {
        await sender.send({ from: 'Nurture <hello@example.com>', to: `base-${i}@example.com`, subject: 'Welcome Bench', html, text: 'Hi Bench, welcome aboard.', messageId: `base-${i}@example.com`, headers });
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { rate: n / seconds, cpuMsPerEmail: (cpu.user + cpu.system) / 1000 / n };
}

interface Scratch {
  store: Store;
  prefix: string;
  dir: string;
  url: string;
  redis: Redis;
  close(): Promise<void>;
}

async function scratch(adminUrl: string, redisUrl: string, sequence: string): Promise<Scratch> {
  const dbName = `nurture_bench_${randomBytes(4).toString('hex')}`;
  const prefix = `benchx${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const dir = await mkdtemp(path.join(tmpdir(), 'nurture-bench-burst-'));
  await writeFile(path.join(dir, 'seq.yaml'), sequence);
  for (const [name, body] of Object.entries(TEMPLATES)) await writeFile(path.join(dir, `${name}.hbs`), body);
  const store = await openStore({ databaseUrl: url.toString(), dataDir: dir, poolSize: 20 });
  const redis = new Redis(redisUrl);
  return {
    store,
    prefix,
    dir,
    url: url.toString(),
    redis,
    async close() {
      await store.close();
      await deleteKeys(redis, prefix);
      redis.disconnect();
      await admin.query(`drop database if exists ${dbName} with (force)`);
      await admin.end();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
}

/** Keys under the prefix and the bytes Redis holds for them (MEMORY USAGE): this run's share of a shared Redis. */
async function redisFootprint(redis: Redis, prefix: string): Promise<{ keys: number; bytes: number }> {
  let cursor = '0';
  let keys = 0;
  let bytes = 0;
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    keys += found.length;
    if (found.length) {
      const pipe = redis.pipeline();
      for (const k of found) pipe.memory('USAGE', k);
      for (const [, n] of (await pipe.exec()) ?? []) bytes += Number(n ?? 0);
    }
  } while (cursor !== '0');
  return { keys, bytes };
}

/**
 * What Redis holds in all: `used_memory` (what maxmemory is checked against) and DBSIZE. Two
 * cheap commands, so a burst can be sampled at every poll; the per-key footprint above asks
 * MEMORY USAGE of every key, which at 100,000 keys loaded this process and Redis enough to slow
 * the burst it measured.
 */
async function redisLevel(redis: Redis): Promise<{ keys: number; bytes: number }> {
  const [info, keys] = await Promise.all([redis.info('memory'), redis.dbsize()]);
  const used = /^used_memory:(\d+)/m.exec(info);
  if (!used) throw new Error('INFO memory gave no used_memory');
  return { keys, bytes: Number(used[1]) };
}

function engineConfig(s: Scratch, redisUrl: string, smtpUrl: string | undefined, env: Record<string, string> = {}) {
  return loadConfig({
    DATABASE_URL: s.url,
    REDIS_URL: redisUrl,
    NURTURE_QUEUE_PREFIX: s.prefix,
    NURTURE_LOG_LEVEL: 'warn',
    NURTURE_DATA_DIR: s.dir,
    NURTURE_SECRET: 'bench-secret-0123456789abcdef0123456789',
    NURTURE_PUBLIC_URL: 'https://nurture.example.com',
    ...(smtpUrl ? { SMTP_URL: smtpUrl } : {}),
    ...Object.fromEntries(Object.entries(process.env).filter(([k, v]) => /^NURTURE_(WAKE|SEND|SMTP|EVENT|DB)_/.test(k) && v !== undefined)),
    ...env,
  } as Record<string, string>);
}

async function engineOn(s: Scratch, redisUrl: string, smtpUrl: string | undefined, o: { sweeper?: boolean; workers?: { events?: boolean; wakes?: boolean; sends?: boolean } } = {}): Promise<RunningEngine> {
  const loaded = await loadSequences(s.dir);
  return startEngine({
    config: engineConfig(s, redisUrl, smtpUrl),
    templatesDir: s.dir,
    publish: loaded.sequences,
    sweeper: o.sweeper ?? true,
    mayLaunchRedis: false,
    serveEmbedded: false,
    log: createLogger('warn'),
    store: s.store,
    ...(o.workers ? { workers: o.workers } : {}),
  });
}

/**
 * `n` enrollments of the burst sequence, all waiting on the same instant (now: due at once), made
 * from one real opt-in whose contact and enrollment rows are copied by SQL.
 */
async function parkedCohort(s: Scratch, n: number, dueAt: Date | 'template'): Promise<void> {
  const db = s.store.db;
  const tpl = await db.selectFrom('enrollments').selectAll().orderBy('enrolled_at').executeTakeFirstOrThrow();
  const due = dueAt === 'template' ? tpl.next_wake_at! : dueAt;
  // In chunks, so a million rows do not make one transaction of a million.
  const CHUNK = 100_000;
  for (let from = 0; from < n; from += CHUNK) {
    const to = Math.min(n, from + CHUNK) - 1;
    await sql`
      with c as (
        insert into contacts
        select r.*
        from contacts t, generate_series(${from}::int, ${to}::int) i,
          lateral jsonb_populate_record(null::contacts, to_jsonb(t) || jsonb_build_object('id', gen_random_uuid(), 'email', 'burst-' || i || '-' || ${randomBytes(3).toString('hex')} || '@example.com')) r
        where t.id = ${tpl.contact_id}
        returning id)
      insert into enrollments
      select r.*
      from enrollments e, c, lateral jsonb_populate_record(null::enrollments, to_jsonb(e) || jsonb_build_object('id', gen_random_uuid(), 'contact_id', c.id, 'next_wake_at', ${due.toISOString()}::timestamptz)) r
      where e.id = ${tpl.id}`.execute(db);
  }
  await sql`delete from enrollments where id = ${tpl.id}`.execute(db);
  // The copied enrollments named their contacts for the report rollups: caught up here, before
  // the clock, as the engine's loop would have within seconds of such writes.
  await catchUpReportRollups(db);
  await sql`vacuum analyze contacts`.execute(db);
  await sql`vacuum analyze enrollments`.execute(db);
  // The set-up wrote a few hundred MB of WAL: checkpointed now, so a checkpoint it brings on
  // (max_wal_size) does not land inside the measurement. Needs a superuser or pg_checkpoint;
  // without either the figures may only be noisier.
  await sql`checkpoint`.execute(db).catch((err: unknown) => console.log(`  (no CHECKPOINT before the clock: ${(err as Error).message})`));
}

async function countOf(store: Store, q: 'recorded' | 'sent'): Promise<number> {
  const r = await sql<{ n: string }>`select count(*) as n from touches where kind = 'email' ${q === 'sent' ? sql`and status = 'sent'` : sql``}`.execute(store.db);
  return Number(r.rows[0]!.n);
}

export interface BurstFigures {
  n: number;
  recordedSeconds: number;
  deliveredSeconds: number;
  peakRedisBytes: number;
  peakRedisKeys: number;
  /** Emails the sink had when the last touch was recorded: how much delivery ran beside the wake-ups. */
  deliveredWhenRecorded: number;
}

/** `n` enrollments due at the same instant: from the engine's start until every touch is recorded, and until the sink has every email. */
export async function benchBurst(adminUrl: string, redisUrl: string, n: number, processes = 1): Promise<BurstFigures> {
  const s = await scratch(adminUrl, redisUrl, SEQUENCE);
  const sink = await startSink();
  try {
    // The opt-in an hour ago: its wait ends about now.
    const setup = await engineOn(s, redisUrl, undefined, { sweeper: false, workers: { events: false, wakes: false, sends: false } });
    const then = DateTime.utc().minus({ hours: 1, seconds: 5 });
    await applyEvent(setup.deps, { id: 'burst-template', type: 'opt_in', occurredAt: then.toISO()!, contact: { email: 'template@example.com', firstName: 'Bench' }, data: {} }, then);
    await setup.stop();
    await parkedCohort(s, n, 'template');
    // More processes: started (and ready) before the clock, so the burst is shared from its first job.
    const others: ChildProcess[] = [];
    for (let i = 1; i < processes; i++) {
      const env = { DATABASE_URL: s.url, REDIS_URL: redisUrl, NURTURE_QUEUE_PREFIX: s.prefix, NURTURE_LOG_LEVEL: 'warn', NURTURE_DATA_DIR: s.dir, SMTP_URL: sink.url, NURTURE_SECRET: 'bench-secret-0123456789abcdef0123456789', NURTURE_PUBLIC_URL: 'https://nurture.example.com' };
      const child = fork(path.join(import.meta.dirname, 'worker-process.ts'), { execArgv: ['--import', 'tsx'], env: { ...process.env, BENCH_WORKER: JSON.stringify({ env, templatesDir: s.dir }) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      await new Promise((resolve) => child.once('message', resolve));
      others.push(child);
    }
    // Peak above what Redis held before: nothing else may use this Redis during the bench.
    const before = await redisLevel(s.redis);
    let peak = { keys: 0, bytes: 0 };
    const start = performance.now();
    const engine = await engineOn(s, redisUrl, sink.url);
    let recordedAt: number | undefined;
    let deliveredAt: number | undefined;
    let deliveredWhenRecorded: number | undefined;
    try {
      while (deliveredAt === undefined) {
        const level = await redisLevel(s.redis);
        peak = { keys: Math.max(peak.keys, level.keys - before.keys), bytes: Math.max(peak.bytes, level.bytes - before.bytes) };
        if (recordedAt === undefined && (await countOf(s.store, 'recorded')) >= n) recordedAt = performance.now();
        if (recordedAt !== undefined) {
          const received = await sink.received();
          // The first count after the last touch was recorded: what went out beside the wake-ups.
          if (deliveredWhenRecorded === undefined) deliveredWhenRecorded = received;
          if (received >= n) deliveredAt = performance.now();
        }
        if (performance.now() - start > 900_000) throw new Error(`burst of ${n}: not delivered within 15 minutes (${await sink.received()} received)`);
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      await engine.stop();
      for (const c of others) {
        const gone = new Promise((resolve) => c.once('exit', resolve));
        c.send({ ask: 'stop' });
        await gone;
      }
    }
    const sent = await countOf(s.store, 'sent');
    if (sent !== n) throw new Error(`burst of ${n}: ${sent} emails marked sent`);
    return { n, recordedSeconds: (recordedAt! - start) / 1000, deliveredSeconds: (deliveredAt - start) / 1000, peakRedisBytes: peak.bytes, peakRedisKeys: peak.keys, deliveredWhenRecorded: deliveredWhenRecorded ?? n };
  } finally {
    await sink.stop();
    await s.close();
  }
}

export interface ParkedFigures {
  contacts: number;
  keys: number;
  bytes: number;
  sweepMs: number[];
  idleCpuPercent: number;
}

/** Contacts parked on a 6-month wait: what Redis holds for them, a sweep pass, and the engine's CPU while idle. */
export async function benchParked(adminUrl: string, redisUrl: string, counts: number[], idleSeconds: number): Promise<ParkedFigures[]> {
  const s = await scratch(adminUrl, redisUrl, SEQUENCE);
  try {
    const setup = await engineOn(s, redisUrl, undefined, { sweeper: false, workers: { events: false, wakes: false, sends: false } });
    await applyEvent(setup.deps, { id: 'parked-template', type: 'opt_in', occurredAt: DateTime.utc().toISO()!, contact: { email: 'template@example.com' }, data: {} }, DateTime.utc());
    await setup.stop();
    const out: ParkedFigures[] = [];
    let have = 0;
    for (const n of counts) {
      // parkedCohort copies the oldest enrollment and drops it: n - have more makes the cohort n.
      await parkedCohort(s, n - have, new Date(Date.now() + 180 * 86_400_000));
      have = n;
      await sql`checkpoint`.execute(s.store.db).catch(() => undefined);
      const engine = await engineOn(s, redisUrl, undefined);
      try {
        await new Promise((r) => setTimeout(r, 3_000));
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        await new Promise((r) => setTimeout(r, idleSeconds * 1000));
        const used = process.cpuUsage(cpu0);
        const idleCpuPercent = ((used.user + used.system) / 1000 / (performance.now() - t0)) * 100;
        const f = await redisFootprint(s.redis, s.prefix);
        const sweepMs: number[] = [];
        for (let i = 0; i < 5; i++) {
          const t = performance.now();
          await engine.sweeper!.sweepOnce(Date.now(), { all: true });
          sweepMs.push(performance.now() - t);
        }
        out.push({ contacts: n, keys: f.keys, bytes: f.bytes, sweepMs, idleCpuPercent });
      } finally {
        await engine.stop();
      }
      // The template was dropped: the next round copies one of the parked rows, made the oldest here.
      await sql`update enrollments set enrolled_at = enrolled_at - interval '1 second' where id = (select id from enrollments limit 1)`.execute(s.store.db);
    }
    return out;
  } finally {
    await s.close();
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Raw BullMQ at a steady rate: enqueue to a no-op processor's start, p50 and p99 in ms. */
async function noopLatency(redisUrl: string, rate: number, seconds: number): Promise<{ p50: number; p99: number }> {
  const prefix = `benchl${randomBytes(3).toString('hex')}`;
  const producer = new Redis(redisUrl);
  const consumer = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('noop', { connection: producer, prefix });
  const lat: number[] = [];
  const total = rate * seconds;
  let resolveAll: () => void = () => {};
  const done = new Promise<void>((r) => (resolveAll = r));
  const worker = new Worker('noop', async (job) => {
    lat.push(Date.now() - (job.data as { at: number }).at);
    if (lat.length === total) resolveAll();
  }, { connection: consumer, prefix, concurrency: 50, removeOnComplete: { count: 0 } });
  await worker.waitUntilReady();
  await paced(rate, seconds, (i) => queue.add('noop', { at: Date.now(), i }).then(() => undefined));
  await done;
  await worker.close();
  await queue.close();
  await deleteKeys(producer, prefix);
  producer.disconnect();
  consumer.disconnect();
  lat.sort((a, b) => a - b);
  return { p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

/** Calls `send` `rate` times a second for `seconds`, in ticks of 50 ms. */
async function paced(rate: number, seconds: number, send: (i: number) => Promise<void>): Promise<void> {
  const total = rate * seconds;
  const start = performance.now();
  let sent = 0;
  const pending: Promise<void>[] = [];
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
    while (sent < due) pending.push(send(sent++));
    await new Promise((r) => setTimeout(r, 50));
  }
  await Promise.all(pending);
}

export interface SteadyFigures {
  rate: number;
  touch: { p50: number; p99: number };
  delivered: { p50: number; p99: number };
  noop: { p50: number; p99: number };
}

/** Opt-ins at a steady rate: enqueue to first touch recorded, and to its email accepted by the sink. */
export async function benchSteady(adminUrl: string, redisUrl: string, rate: number, seconds: number): Promise<SteadyFigures> {
  const noop = await noopLatency(redisUrl, rate, seconds);
  const s = await scratch(adminUrl, redisUrl, STEADY);
  const sink = await startSink();
  const queue = new Queue(EVENTS_QUEUE, { connection: s.redis, prefix: s.prefix });
  try {
    const engine = await engineOn(s, redisUrl, sink.url);
    const enqueued = new Map<string, number>();
    try {
      await paced(rate, seconds, async (i) => {
        const email = `steady-${i}@example.com`;
        enqueued.set(email, Date.now());
        await queue.add(EVENT_JOB, { id: `steady-${i}`, type: 'opt_in', occurredAt: new Date().toISOString(), contact: { email }, data: {} });
      });
      const total = rate * seconds;
      for (let t = 0; (await countOf(s.store, 'sent')) < total; t++) {
        if (t > 600) throw new Error('steady opt-ins: not all sent within 2 minutes');
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      await engine.stop();
    }
    const rows = await s.store.db.selectFrom('touches').innerJoin('contacts', 'contacts.id', 'touches.contact_id').select(['contacts.email', 'touches.created_at', 'touches.sent_at']).where('touches.kind', '=', 'email').execute();
    const touch = rows.map((r) => r.created_at.getTime() - enqueued.get(r.email)!).sort((a, b) => a - b);
    const delivered = rows.map((r) => r.sent_at!.getTime() - enqueued.get(r.email)!).sort((a, b) => a - b);
    return { rate, touch: { p50: percentile(touch, 50), p99: percentile(touch, 99) }, delivered: { p50: percentile(delivered, 50), p99: percentile(delivered, 99) }, noop };
  } finally {
    await queue.close();
    await sink.stop();
    await s.close();
  }
}
