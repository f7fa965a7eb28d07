import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { DateTime } from 'luxon';
import pg from 'pg';
import { applyEventBatch } from '../src/app/apply-events.js';
import { sweeperScheduler } from '../src/app/scheduler.js';
import { loadConfig } from '../src/config.js';
import { openStore } from '../src/db/database.js';
import { createLogger } from '../src/logger.js';
import { loadSequences } from '../src/sequences/load.js';
import type { MailSender } from '../src/templates/mail-sender.js';
import { startEngine } from '../src/workers/runtime.js';

export interface UnsubscribeBench {
  requests: number;
  clients: number;
  p50: number;
  p99: number;
  max: number;
  rate: number;
  /** CPU time of this process (server and clients) per request. */
  cpuMsPerRequest: number;
}

const nullMail: MailSender = {
  async send(m) {
    return { messageId: m.messageId, accepted: true, response: '250 bench' };
  },
  async close() {},
  describe: () => 'bench: discard',
};

/**
 * One-click unsubscribes under load: `contacts` contacts enrolled in the example sequence (their
 * welcome email pending), then `clients` concurrent clients POST `List-Unsubscribe=One-Click` to
 * their links through a real listening server. Latency is request sent to answer read, and every
 * answer comes after the suppression, the consent record and the enrollment's exit committed
 * (checked at the end). Each client has its own address (X-Forwarded-For), as mailbox providers'
 * servers would, so the per-client rate limit does not stand in the way.
 */
export async function benchUnsubscribe(adminUrl: string, redisUrl: string, o: { contacts: number; clients: number }): Promise<UnsubscribeBench> {
  const root = path.resolve(import.meta.dirname, '..');
  const dbName = `nurture_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const config = loadConfig({
    DATABASE_URL: url.toString(),
    REDIS_URL: redisUrl,
    NURTURE_QUEUE_PREFIX: `benchu${randomBytes(3).toString('hex')}`,
    NURTURE_LOG_LEVEL: 'warn',
    NURTURE_HTTP_PORT: '0',
    NURTURE_TRUST_PROXY: 'true',
    NURTURE_SECRET: randomBytes(32).toString('hex'),
    NURTURE_DATA_DIR: path.join(root, '.nurture-bench'),
    ...(process.env.NURTURE_DB_POOL ? { NURTURE_DB_POOL: process.env.NURTURE_DB_POOL } : {}),
  });
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPool });
  try {
    const loaded = await loadSequences(path.join(root, 'examples/sequences'));
    // The HTTP server alone, as `nurture api` runs it: no workers, no sweeper.
    const engine = await startEngine({
      config,
      templatesDir: path.join(root, 'examples/templates'),
      publish: loaded.sequences,
      sweeper: false,
      mayLaunchRedis: false,
      serveEmbedded: false,
      log: createLogger('warn'),
      store,
      mail: nullMail,
      http: true,
      workers: { events: false, wakes: false, sends: false },
    });
    try {
      const app = { deps: engine.deps, scheduler: sweeperScheduler, log: createLogger('warn') };
      const now = DateTime.utc();
      for (let i = 0; i < o.contacts; i += 200) {
        const events = Array.from({ length: Math.min(200, o.contacts - i) }, (_, k) => ({
          id: `bench-unsub-${i + k}`,
          type: 'opt_in',
          occurredAt: now.toISO()!,
          contact: { email: `unsub-${i + k}@example.com` },
          data: { source: 'website' },
        }));
        await applyEventBatch(app, events, now);
      }
      const touches = await store.db.selectFrom('touches').select('id').where('kind', '=', 'email').execute();
      if (touches.length !== o.contacts) throw new Error(`expected ${o.contacts} welcome emails, found ${touches.length}`);
      const links = touches.map((t) => engine.deps.links.standard({ touchId: t.id }).unsubscribe);

      const latencies: number[] = [];
      let next = 0;
      const client = async (c: number): Promise<void> => {
        for (let i = next++; i < links.length; i = next++) {
          const started = performance.now();
          const res = await fetch(links[i]!, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': `10.0.${c >> 8}.${c & 255}` },
            body: 'List-Unsubscribe=One-Click',
          });
          await res.text();
          latencies.push(performance.now() - started);
          if (res.status !== 200) throw new Error(`unsubscribe answered ${res.status}`);
        }
      };
      const started = performance.now();
      const cpu = process.cpuUsage();
      await Promise.all(Array.from({ length: o.clients }, (_, c) => client(c)));
      const seconds = (performance.now() - started) / 1000;
      const used = process.cpuUsage(cpu);

      const suppressed = Number((await store.db.selectFrom('suppressions').select(store.db.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
      // The engine records each opt-in too: the unsubscribes are what this measures.
      const recorded = Number(
        (await store.db.selectFrom('consent_records').select(store.db.fn.countAll<string>().as('n')).where('kind', '=', 'unsubscribed').executeTakeFirstOrThrow()).n,
      );
      const exited = await store.db.selectFrom('enrollments').select(store.db.fn.countAll<string>().as('n')).where('exit_reason', '=', 'unsubscribed').executeTakeFirstOrThrow();
      if (suppressed !== o.contacts || recorded !== o.contacts || Number(exited.n) !== o.contacts) {
        throw new Error('not every unsubscribe was committed');
      }
      latencies.sort((a, b) => a - b);
      const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
      return { requests: latencies.length, clients: o.clients, p50: at(0.5), p99: at(0.99), max: latencies.at(-1)!, rate: latencies.length / seconds, cpuMsPerRequest: (used.user + used.system) / 1000 / latencies.length };
    } finally {
      await engine.stop();
    }
  } finally {
    await store.close();
    await admin.query(`drop database if exists ${dbName} with (force)`);
    await admin.end();
  }
}
