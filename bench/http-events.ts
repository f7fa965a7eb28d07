import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { openStore } from '../src/db/database.js';
import { createLogger } from '../src/logger.js';
import { loadSequences } from '../src/sequences/load.js';
import type { MailSender } from '../src/templates/mail-sender.js';
import { EVENT_JOB, EVENTS_QUEUE, eventJobId } from '../src/workers/queues.js';
import { startEngine } from '../src/workers/runtime.js';

const KEY = 'bench-api-key-0123456789abcdef';
const BATCH = 1000;
/** Requests in flight at once, as a producer with a small pool would send them. */
const IN_FLIGHT = 4;

const nullMail: MailSender = {
  async send(m) {
    return { messageId: m.messageId, accepted: true, response: '250 bench' };
  },
  async close() {},
  describe: () => 'bench: discard',
};

function optIn(i: number, run: string) {
  return {
    id: `bench-${run}-${i}`,
    type: 'opt_in',
    occurredAt: new Date().toISOString(),
    contact: { email: `bench-${run}-${i}@example.com`, firstName: 'Bench', timezone: 'America/Chicago' },
    data: { source: 'website' },
  };
}

/**
 * POST /v1/events in batches of 1,000 against the queue-only path, in one engine (events worker,
 * intake drainer, HTTP server) on one scratch database: N opt-ins each way, timed from the first
 * request (or enqueue) until all N are applied (stored in `events`): queue, HTTP, queue again.
 */
export async function benchHttpEvents(adminUrl: string, redisUrl: string, root: string, n: number): Promise<{ queueRate: number; httpRate: number; queueRuns: [number, number] }> {
  const dbName = `nurture_bench_${randomBytes(4).toString('hex')}`;
  const prefix = `benchh${randomBytes(3).toString('hex')}`;
  const dataDir = await mkdtemp(path.join(tmpdir(), 'nurture-bench-http-'));
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  const redis = new Redis(redisUrl);
  try {
    const url = new URL(adminUrl);
    url.pathname = `/${dbName}`;
    const config = loadConfig({
      DATABASE_URL: url.toString(),
      REDIS_URL: redisUrl,
      NURTURE_QUEUE_PREFIX: prefix,
      NURTURE_LOG_LEVEL: 'warn',
      NURTURE_DATA_DIR: dataDir,
      NURTURE_HTTP_PORT: '0',
      NURTURE_SECRET: randomBytes(32).toString('hex'),
      NURTURE_API_KEYS: KEY,
      NURTURE_EVENTS_RATE_LIMIT: '1000000',
      NURTURE_HTTP_BODY_LIMIT: String(16 * 1024 * 1024),
    });
    const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPool });
    const queue = new Queue(EVENTS_QUEUE, { connection: redis, prefix });
    const loaded = await loadSequences(path.join(root, 'examples/sequences'));
    const engine = await startEngine({
      config,
      templatesDir: path.join(root, 'examples/templates'),
      publish: loaded.sequences,
      sweeper: true,
      mayLaunchRedis: false,
      serveEmbedded: false,
      log: createLogger('warn'),
      store,
      mail: nullMail,
      http: true,
      workers: { events: true, wakes: false, sends: false },
    });
    const applied = async () => Number((await store.db.selectFrom('events').select(store.db.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
    const until = async (count: number) => {
      while ((await applied()) < count) await new Promise((r) => setTimeout(r, 50));
    };
    try {
      let total = 0;
      const viaQueue = async (run: string) => {
        const q = Array.from({ length: n }, (_, i) => optIn(i, run));
        const start = performance.now();
        for (let i = 0; i < n; i += BATCH) await queue.addBulk(q.slice(i, i + BATCH).map((e) => ({ name: EVENT_JOB, data: e, opts: { jobId: eventJobId(e.id) } })));
        await until((total += n));
        return n / ((performance.now() - start) / 1000);
      };
      const viaHttp = async (run: string) => {
        const h = Array.from({ length: n }, (_, i) => optIn(i, run));
        const batches: (typeof h)[] = [];
        for (let i = 0; i < n; i += BATCH) batches.push(h.slice(i, i + BATCH));
        const start = performance.now();
        let next = 0;
        const sender = async () => {
          while (next < batches.length) {
            const batch = batches[next++]!;
            const res = await fetch(`${engine.http!.url}/v1/events`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
              body: JSON.stringify(batch),
            });
            if (res.status !== 202) throw new Error(`POST /v1/events answered ${res.status}: ${await res.text()}`);
          }
        };
        await Promise.all(Array.from({ length: IN_FLIGHT }, sender));
        await until((total += n));
        return n / ((performance.now() - start) / 1000);
      };
      // Queue, HTTP, queue: the tables grow as the runs go, so the queue figure is the mean of one run before and one after.
      const q1 = await viaQueue(`${prefix}q1`);
      const httpRate = await viaHttp(`${prefix}h`);
      const q2 = await viaQueue(`${prefix}q2`);
      const queueRate = (q1 + q2) / 2;
      return { queueRate, httpRate, queueRuns: [q1, q2] };
    } finally {
      await engine.stop();
      await queue.close();
      await store.close();
    }
  } finally {
    let cursor = '0';
    do {
      const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = nextCursor;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
    redis.disconnect();
    await admin.query(`drop database if exists ${dbName} with (force)`);
    await admin.end();
    await rm(dataDir, { recursive: true, force: true });
  }
}
