/**
 * npm run bench: opt-ins per second end to end (event enqueued -> contact stored, enrolled,
 * first touch recorded) against a raw BullMQ no-op baseline, measured the same way on the same
 * machine: workers start, then N jobs are enqueued in bulk, and the clock runs from the first
 * enqueue until all N are done.
 *
 * Needs local Redis and PostgreSQL (REDIS_URL, BENCH_DATABASE_URL default postgres://127.0.0.1:5432/postgres,
 * where it creates and drops a scratch database). BENCH_N sets the number of opt-ins.
 * Also: one-click unsubscribe latency under load (bench/unsubscribe.ts) and the CSV import.
 *
 * Lead scoring (BENCH_ONLY=scoring runs these alone): `scores rebuild` over BENCH_SCORE_CONTACTS
 * contacts (100,000 by default) with 20 events each, and the opt-in throughput with scoring off
 * and on (examples/scoring.yaml, opt-ins carrying the attributes fit rules read), in the same run.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { catchUpReportRollups } from '../src/db/report-rollup-repository.js';
import { openStore } from '../src/db/database.js';
import { createLogger } from '../src/logger.js';
import { loadSequences } from '../src/sequences/load.js';
import type { MailSender } from '../src/templates/mail-sender.js';
import { EVENT_JOB, EVENTS_QUEUE } from '../src/workers/queues.js';
import { startEngine } from '../src/workers/runtime.js';
import { withUser } from '../test/support/services.js';
import { benchHttpEvents } from './http-events.js';
import { benchImport } from './import-contacts.js';
import { benchUnsubscribe } from './unsubscribe.js';
import type { ScoringRules } from '../src/scoring/rules.js';
import { benchRebuild, exampleScoring } from './scores-rebuild.js';
import { benchReports } from './reports.js';
import { benchInbox } from './inbox.js';
import { benchBurst, benchParked, benchSteady, smtpBaseline } from './burst.js';

const N = Number(process.env.BENCH_N ?? 20_000);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ADMIN_URL = withUser(process.env.BENCH_DATABASE_URL ?? 'postgres://127.0.0.1:5432/postgres');
const ROOT = path.resolve(import.meta.dirname, '..');

async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
}

interface RunOptions {
  scoring?: ScoringRules | undefined;
  /** Opt-ins carry attributes and an address that fit rules read. */
  profile?: boolean;
}

function optIn(i: number, run: string, o: RunOptions = {}) {
  const profile = o.profile
    ? { attributes: { company_size: (i * 37) % 400, role: i % 2 ? 'vp' : 'staff' }, address: { line1: '1 Main St', city: 'Austin', postalCode: '73301', country: i % 3 ? 'US' : 'DE' } }
    : {};
  return {
    id: `bench-${run}-${i}`,
    type: 'opt_in',
    occurredAt: new Date().toISOString(),
    contact: { email: `bench-${run}-${i}@example.com`, firstName: 'Bench', timezone: 'America/Chicago', ...profile },
    data: { source: 'website' },
  };
}

async function enqueue(queue: Queue, jobs: { name: string; data: unknown }[]): Promise<void> {
  for (let i = 0; i < jobs.length; i += 1000) await queue.addBulk(jobs.slice(i, i + 1000));
}

async function baseline(redis: Redis, concurrency: number, N = Number(process.env.BENCH_N ?? 20_000)): Promise<number> {
  const prefix = `benchb${randomBytes(3).toString('hex')}`;
  const queue = new Queue('noop', { connection: redis, prefix });
  const jobs = Array.from({ length: N }, (_, i) => ({ name: 'noop', data: optIn(i, 'b') }));
  let done = 0;
  let resolveAll: () => void = () => {};
  const finished = new Promise<void>((resolve) => (resolveAll = resolve));
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const worker = new Worker(
    'noop',
    async () => {
      if (++done === N) resolveAll();
    },
    { connection, prefix, concurrency, removeOnComplete: { count: 0 } },
  );
  await worker.waitUntilReady();
  const start = performance.now();
  await enqueue(queue, jobs);
  await finished;
  const seconds = (performance.now() - start) / 1000;
  await worker.close();
  connection.disconnect();
  await queue.close();
  await deleteKeys(redis, prefix);
  return N / seconds;
}

const nullMail: MailSender = {
  async send(m) {
    return { messageId: m.messageId, accepted: true, response: '250 bench' };
  },
  async close() {},
  describe: () => 'bench: discard',
};

async function nurture(redis: Redis, o: RunOptions = {}): Promise<OptInRun> {
  const dbName = `nurture_bench_${randomBytes(4).toString('hex')}`;
  const prefix = `benchn${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  // The scratch database and queue keys go whatever happens, so a failed run leaves nothing.
  try {
    return await measure(redis, dbName, prefix, o);
  } finally {
    await deleteKeys(redis, prefix);
    await admin.query(`drop database if exists ${dbName} with (force)`);
    await admin.end();
  }
}

/** `rate` over the run; `catchUpSeconds`: the report rollup catch-up of those contacts afterwards, the work the triggers leave to it. */
interface OptInRun {
  rate: number;
  concurrency: number;
  catchUpSeconds: number;
}

async function measure(redis: Redis, dbName: string, prefix: string, o: RunOptions): Promise<OptInRun> {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${dbName}`;
  const config = loadConfig({
    DATABASE_URL: url.toString(),
    REDIS_URL,
    NURTURE_QUEUE_PREFIX: prefix,
    NURTURE_LOG_LEVEL: 'warn',
    ...(process.env.NURTURE_EVENT_CONCURRENCY ? { NURTURE_EVENT_CONCURRENCY: process.env.NURTURE_EVENT_CONCURRENCY } : {}),
    ...(process.env.NURTURE_DB_POOL ? { NURTURE_DB_POOL: process.env.NURTURE_DB_POOL } : {}),
    ...(process.env.NURTURE_EVENT_BATCH ? { NURTURE_EVENT_BATCH: process.env.NURTURE_EVENT_BATCH } : {}),
    NURTURE_DATA_DIR: path.join(ROOT, '.nurture-bench'),
  });
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPool });
  const queue = new Queue(EVENTS_QUEUE, { connection: redis, prefix });
  try {
    const loaded = await loadSequences(path.join(ROOT, 'examples/sequences'));
    const jobs = Array.from({ length: N }, (_, i) => ({ name: EVENT_JOB, data: optIn(i, prefix, o) }));
    const engine = await startEngine({
      config,
      templatesDir: path.join(ROOT, 'examples/templates'),
      publish: loaded.sequences,
      sweeper: false,
      mayLaunchRedis: false,
      serveEmbedded: false,
      log: createLogger('warn'),
      store,
      mail: nullMail,
      workers: { events: true, wakes: false, sends: false },
      scoring: o.scoring,
    });
    try {
      const start = performance.now();
      await enqueue(queue, jobs);
      // Done when every opt-in has its first touch (the welcome email) recorded. A job completes
      // only after the transaction that wrote its touch committed, so the queue running dry is
      // polled (a few Redis calls) and the count over touches, which grows with N, is read only then.
      for (;;) {
        const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
        if (Object.values(c).every((n) => n === 0)) {
          const r = await store.db.selectFrom('touches').select(store.db.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
          if (Number(r.n) >= N) break;
        }
        await new Promise((res) => setTimeout(res, 50));
      }
      const seconds = (performance.now() - start) / 1000;
      const enrolled = await store.db.selectFrom('enrollments').select(store.db.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
      if (Number(enrolled.n) !== N) throw new Error(`expected ${N} enrollments, found ${enrolled.n}`);
      // What the engine's catch-up loop (off here: no sweeper) would do over the next seconds.
      const c0 = performance.now();
      await catchUpReportRollups(store.db);
      return { rate: N / seconds, concurrency: config.concurrency.events, catchUpSeconds: (performance.now() - c0) / 1000 };
    } finally {
      await engine.stop();
    }
  } finally {
    await queue.close();
    await store.close();
  }
}

async function benchScoring(redis: Redis): Promise<void> {
  const contacts = Number(process.env.BENCH_SCORE_CONTACTS ?? 100_000);
  // BENCH_SCORE_CONTACTS=0 leaves the rebuild out (the opt-in comparison alone).
  if (contacts > 0) {
    const rebuilt = await benchRebuild(ADMIN_URL, contacts, 20);
    const moved = rebuilt.report.moves.reduce((s, m) => s + m.contacts, 0);
    console.log(`nurture scores rebuild: ${contacts} contacts with 20 events each in ${rebuilt.seconds.toFixed(1)} s (${moved} stage changes; target: under 60 s)`);
  }
  const scoring = await exampleScoring();
  // Off, on, off, on: the machine's load drifts, so each figure is the better of two runs.
  const best = { off: 0, on: 0 };
  for (let i = 0; i < 2; i++) {
    best.off = Math.max(best.off, (await nurture(redis, { profile: true })).rate);
    best.on = Math.max(best.on, (await nurture(redis, { profile: true, scoring })).rate);
  }
  console.log(`opt-ins with scoring off: ${best.off.toFixed(0)}/s, on: ${best.on.toFixed(0)}/s (examples/scoring.yaml; N=${N}, best of two runs each)`);
  console.log(`scoring cost: ${((1 - best.on / best.off) * 100).toFixed(1)}% of the opt-in throughput (ratio on/off ${(best.on / best.off).toFixed(3)}; target: under 10%)`);
}

const redis = new Redis(REDIS_URL);
try {
  // BENCH_ONLY=burst|parked|steady runs one of the wake-up and send scenarios alone (bench/burst.ts).
  const only = process.env.BENCH_ONLY;
  if (only === undefined || only === 'burst') {
    const n = Number(process.env.BENCH_BURST ?? 100_000);
    const base = await baseline(redis, loadConfig(process.env).concurrency.wakes, n);
    const smtp = await smtpBaseline(Math.min(n, 20_000));
    const b = await benchBurst(ADMIN_URL, REDIS_URL, n);
    console.log(`burst: ${n} enrollments due at one instant, 1 process, SMTP sink in a child process; raw BullMQ no-op baseline ${base.toFixed(0)} jobs/s (same run)`);
    console.log(`  all touches recorded in ${b.recordedSeconds.toFixed(1)} s: ${(n / b.recordedSeconds).toFixed(0)} wake-ups/s, ratio to baseline ${(n / b.recordedSeconds / base).toFixed(2)} (target: under 20 s)`);
    console.log(`  all delivered in ${b.deliveredSeconds.toFixed(1)} s: ${(n / b.deliveredSeconds).toFixed(0)} emails/s, ratio to baseline ${(n / b.deliveredSeconds / base).toFixed(2)} (target: under 60 s)`);
    console.log(
      `  delivery beside the wake-ups: ${b.deliveredWhenRecorded} emails by the time every touch was recorded (${(b.deliveredWhenRecorded / b.recordedSeconds).toFixed(0)}/s), ` +
        `the other ${n - b.deliveredWhenRecorded} in the ${(b.deliveredSeconds - b.recordedSeconds).toFixed(1)} s after` +
        (b.deliveredSeconds > b.recordedSeconds ? ` (${((n - b.deliveredWhenRecorded) / (b.deliveredSeconds - b.recordedSeconds)).toFixed(0)}/s)` : ''),
    );
    console.log(
      `  SMTP client alone (same sender and pool, ${smtp.connections} connections, ${smtp.threads ? `${smtp.threads} SMTP thread(s)` : 'in the main thread'}, nothing else in the process, same run): ` +
        `${smtp.rate.toFixed(0)} emails/s, ${smtp.cpuMsPerEmail.toFixed(2)} ms of the process's CPU per email; delivery ratio to it ${(n / b.deliveredSeconds / smtp.rate).toFixed(2)}`,
    );
    console.log(`  peak Redis above its level before the run (the whole instance's used_memory and DBSIZE, sampled every 200 ms: run nothing else on it): ${(b.peakRedisBytes / 1e6).toFixed(1)} MB in ${b.peakRedisKeys} keys`);
    if (only === 'burst') process.exit(0);
  }
  // BENCH_ONLY=processes: the same burst (BENCH_TWO_N, 20,000 by default) with one worker process and with two.
  if (only === undefined || only === 'processes') {
    const n = Number(process.env.BENCH_TWO_N ?? 20_000);
    const one = await benchBurst(ADMIN_URL, REDIS_URL, n, 1);
    const two = await benchBurst(ADMIN_URL, REDIS_URL, n, 2);
    console.log(
      `processes: burst of ${n}, one process ${one.recordedSeconds.toFixed(1)} s recorded / ${one.deliveredSeconds.toFixed(1)} s delivered, two processes ${two.recordedSeconds.toFixed(1)} s / ${two.deliveredSeconds.toFixed(1)} s; ` +
        `throughput ratio two/one: wake-ups ${(one.recordedSeconds / two.recordedSeconds).toFixed(2)}, deliveries ${(one.deliveredSeconds / two.deliveredSeconds).toFixed(2)} (2 cores shared with Postgres, Redis and the sink)`,
    );
    if (only === 'processes') process.exit(0);
  }
  if (only === undefined || only === 'parked') {
    const big = Number(process.env.BENCH_PARKED ?? 1_000_000);
    const figures = await benchParked(ADMIN_URL, REDIS_URL, [10_000, big], Number(process.env.BENCH_IDLE_SECONDS ?? 10));
    const [small, large] = figures;
    for (const f of figures) {
      const sorted = [...f.sweepMs].sort((a, b) => a - b);
      console.log(
        `parked: ${f.contacts} contacts on a 6-month wait: Redis ${f.keys} keys, ${(f.bytes / 1e3).toFixed(1)} kB for this prefix (ratio to 10k: keys ${(f.keys / small!.keys).toFixed(2)}, bytes ${(f.bytes / small!.bytes).toFixed(2)}); ` +
          `full sweep pass median ${sorted[2]!.toFixed(1)} ms (of ${f.sweepMs.map((m) => m.toFixed(0)).join(', ')}; ratio to 10k ${(sorted[2]! / [...small!.sweepMs].sort((a, b) => a - b)[2]!).toFixed(2)}; target under 50 ms); ` +
          `engine process idle CPU ${f.idleCpuPercent.toFixed(2)}% of a core (target under 2%)`,
      );
    }
    void large;
    if (only === 'parked') process.exit(0);
  }
  if (only === undefined || only === 'steady') {
    const rate = Number(process.env.BENCH_STEADY_RATE ?? 200);
    const st = await benchSteady(ADMIN_URL, REDIS_URL, rate, Number(process.env.BENCH_STEADY_SECONDS ?? 15));
    console.log(
      `steady ${rate} opt-ins/s: opt-in to first touch recorded p50 ${st.touch.p50} ms, p99 ${st.touch.p99} ms; to its email accepted by the sink p50 ${st.delivered.p50} ms, p99 ${st.delivered.p99} ms; ` +
        `raw BullMQ no-op enqueue-to-start at the same rate p50 ${st.noop.p50} ms, p99 ${st.noop.p99} ms (ratio p50 ${(st.touch.p50 / Math.max(1, st.noop.p50)).toFixed(1)}, p99 ${(st.touch.p99 / Math.max(1, st.noop.p99)).toFixed(1)})`,
    );
    if (only === 'steady') process.exit(0);
  }
  // BENCH_ONLY=unsubscribe runs the one-click unsubscribe scenario alone (BENCH_UNSUB_N contacts, BENCH_UNSUB_CLIENTS clients).
  if (process.env.BENCH_ONLY === undefined || process.env.BENCH_ONLY === 'unsubscribe') {
    const u = await benchUnsubscribe(ADMIN_URL, REDIS_URL, { contacts: Number(process.env.BENCH_UNSUB_N ?? 2_000), clients: Number(process.env.BENCH_UNSUB_CLIENTS ?? 50) });
    console.log(
      `one-click unsubscribe (POST /u/TOKEN, answered after suppression, consent and exit committed): ${u.requests} requests from ${u.clients} concurrent clients, ` +
        `p50 ${u.p50.toFixed(1)} ms, p99 ${u.p99.toFixed(1)} ms, max ${u.max.toFixed(1)} ms, ${u.rate.toFixed(0)} unsubscribes/s, ${u.cpuMsPerRequest.toFixed(1)} ms of CPU per request in the server's process`,
    );
    if (process.env.BENCH_ONLY === 'unsubscribe') {
      redis.disconnect();
      process.exit(0);
    }
  }
  // BENCH_ONLY=http runs POST /v1/events against the queue-only path alone (BENCH_HTTP_N events each way, 10,000 by default).
  if (process.env.BENCH_ONLY === undefined || process.env.BENCH_ONLY === 'http') {
    const httpN = Number(process.env.BENCH_HTTP_N ?? 10_000);
    const h = await benchHttpEvents(ADMIN_URL, REDIS_URL, ROOT, httpN);
    console.log(`events applied end to end, N=${httpN} opt-ins each way, one engine: queue-only ${h.queueRate.toFixed(0)} events/s (mean of a run before and one after: ${h.queueRuns.map((r) => r.toFixed(0)).join(', ')}); POST /v1/events (batches of 1,000, 4 in flight) ${h.httpRate.toFixed(0)} events/s`);
    console.log(`ratio HTTP / queue: ${(h.httpRate / h.queueRate).toFixed(2)}  (target >= 0.8)`);
    if (process.env.BENCH_ONLY === 'http') {
      redis.disconnect();
      process.exit(0);
    }
  }
  // BENCH_ONLY=inbox: appointment_requested enqueued -> the lead call in a rep's /inbox/events stream (BENCH_INBOX_PER_MINUTE for BENCH_INBOX_SECONDS).
  if (process.env.BENCH_ONLY === undefined || process.env.BENCH_ONLY === 'inbox') {
    const b = await benchInbox(ADMIN_URL, REDIS_URL, { perMinute: Number(process.env.BENCH_INBOX_PER_MINUTE ?? 1_000), seconds: Number(process.env.BENCH_INBOX_SECONDS ?? 60) });
    console.log(
      `inbox speed-to-lead: ${b.promotions} promotions in ${b.seconds.toFixed(0)} s (${b.perMinute.toFixed(0)}/min); appointment_requested enqueued -> lead call in the rep's event stream: ` +
        `p50 ${b.stream.p50.toFixed(0)} ms, p99 ${b.stream.p99.toFixed(0)} ms, max ${b.stream.max.toFixed(0)} ms (${b.stream.seen}/${b.promotions} seen)`,
    );
    console.log(
      `baseline, enqueued -> task row committed (10 ms table poll): p50 ${b.row.p50.toFixed(0)} ms, p99 ${b.row.p99.toFixed(0)} ms (${b.row.seen}/${b.promotions} seen); ` +
        `ratio stream/row p50 ${(b.stream.p50 / b.row.p50).toFixed(1)}, p99 ${(b.stream.p99 / b.row.p99).toFixed(1)} (the stream polls once a second)`,
    );
    if (process.env.BENCH_ONLY === 'inbox') {
      redis.disconnect();
      process.exit(0);
    }
  }
  // BENCH_ONLY=reports runs the reports over 1,000,000 events and 100,000 contacts alone.
  if (process.env.BENCH_ONLY === 'reports' || process.env.BENCH_ONLY === undefined) {
    for (const r of await benchReports(ADMIN_URL)) {
      console.log(`nurture report ${r.name}: ${r.ms.map((m) => m.toFixed(0)).join(', ')} ms (slowest ${Math.max(...r.ms).toFixed(0)} ms; target < 1000 ms)`);
    }
    if (process.env.BENCH_ONLY === 'reports') {
      redis.disconnect();
      process.exit(0);
    }
  }
  // BENCH_ONLY=import runs the CSV import alone (BENCH_IMPORT_ROWS rows, 100,000 by default).
  const importRows = Number(process.env.BENCH_IMPORT_ROWS ?? 100_000);
  // BENCH_ONLY=optins: the opt-in path against its raw BullMQ baseline alone.
  const imported = ['nurture', 'scoring', 'optins'].includes(process.env.BENCH_ONLY ?? '') ? undefined : await benchImport(ADMIN_URL, importRows);
  if (imported) console.log(`nurture contacts import: ${importRows} CSV rows in ${imported.seconds.toFixed(1)} s, ${imported.rate.toFixed(0)} rows/s (parsed, validated, upserted)`);
  if (process.env.BENCH_ONLY === 'import') {
    redis.disconnect();
    process.exit(0);
  }
  if (process.env.BENCH_ONLY === 'scoring') {
    await benchScoring(redis);
    redis.disconnect();
    process.exit(0);
  }
  const concurrency = loadConfig(process.env).concurrency.events;
  // BENCH_ONLY=nurture skips the baseline (for profiling the engine alone).
  const base = process.env.BENCH_ONLY === 'nurture' ? Number.NaN : await baseline(redis, concurrency);
  const n = await nurture(redis);
  const ratio = n.rate / base;
  console.log(`workers started, then N opt-ins enqueued in bulk; timed from the first enqueue to the last one done; N=${N}, worker concurrency ${n.concurrency}, 1 process`);
  console.log(`raw BullMQ no-op baseline: ${base.toFixed(0)} jobs/s`);
  console.log(`nurture opt-ins end to end: ${n.rate.toFixed(0)} opt-ins/s (contact stored, enrolled, first touch recorded)`);
  console.log(
    `  report rollups caught up afterwards: ${N} contacts in ${n.catchUpSeconds.toFixed(2)} s; counted in, ${(N / (N / n.rate + n.catchUpSeconds)).toFixed(0)} opt-ins/s, ratio ${(N / (N / n.rate + n.catchUpSeconds) / base).toFixed(2)}`,
  );
  console.log(`ratio: ${ratio.toFixed(2)}  (targets: >= 2000 opt-ins/s, ratio >= 0.5)`);
  if (process.env.BENCH_ONLY !== 'optins') await benchScoring(redis);
} finally {
  redis.disconnect();
}
