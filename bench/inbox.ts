import { randomBytes } from 'node:crypto';
import path from 'node:path';
import argon2 from 'argon2';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { openStore } from '../src/db/database.js';
import { createLogger } from '../src/logger.js';
import type { MailSender } from '../src/templates/mail-sender.js';
import { EVENT_JOB, eventJobId } from '../src/workers/queues.js';
import { startEngine } from '../src/workers/runtime.js';
import { INBOX_TEAM_YAML, inboxDirectory } from '../test/support/inbox.js';

export interface InboxBench {
  promotions: number;
  seconds: number;
  perMinute: number;
  /** enqueue -> the follow-up task in the inbox's event stream (ms). */
  stream: { p50: number; p99: number; max: number; seen: number };
  /** enqueue -> the task row committed, seen by a 10 ms poll of the table (ms): the baseline. */
  row: { p50: number; p99: number; max: number; seen: number };
}

const nullMail: MailSender = {
  async send(m) {
    return { messageId: m.messageId, accepted: true, response: '250 bench' };
  },
  async close() {},
  describe: () => 'bench: discard',
};

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

/**
 * Speed-to-lead as a rep sees it: `appointment_requested` events enqueued at `perMinute` for
 * `seconds`, each promoting a new contact, whose high-priority lead call must appear in a logged-in
 * rep's /inbox/events stream (a real listening server, a real HTTP client). The baseline is the
 * same promotions' task rows, seen by polling the table every 10 ms: the engine's own latency.
 *
 * Assignment is part of the measure: the engine's own staff sweep (once a second) puts each new
 * lead call in the sales queue by the rule `to: { queue: sales }`, as a real team.yaml would.
 */
export async function benchInbox(adminUrl: string, redisUrl: string, o: { perMinute: number; seconds: number }): Promise<InboxBench> {
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
    NURTURE_QUEUE_PREFIX: `benchi${randomBytes(3).toString('hex')}`,
    NURTURE_LOG_LEVEL: 'warn',
    NURTURE_HTTP_PORT: '0',
    NURTURE_SECRET: randomBytes(32).toString('hex'),
    NURTURE_DATA_DIR: path.join(root, '.nurture-bench'),
  });
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPool });
  const aborter = new AbortController();
  try {
    const engine = await startEngine({
      config,
      templatesDir: path.join(root, 'examples/templates'),
      publish: [],
      sweeper: true,
      mayLaunchRedis: false,
      serveEmbedded: false,
      log: createLogger('warn'),
      store,
      mail: nullMail,
      http: true,
      workers: { events: true, wakes: false, sends: false },
      staff: inboxDirectory(`${INBOX_TEAM_YAML}assignment:\n  - name: lead calls wait in the sales queue\n    when: { kind: call }\n    to: { queue: sales }\n`),
    });
    try {
      await store.db.insertInto('staff_accounts').values({ email: 'bob@example.com', password_hash: await argon2.hash('bench-password', { type: argon2.argon2id }) }).execute();
      const base = engine.http!.url;
      const cookie = await login(base, 'bob@example.com', 'bench-password');

      // The event stream, as the inbox page opens it.
      const arrived = new Map<number, number>();
      const res = await fetch(`${base}/inbox/events?after=0`, { headers: { cookie }, signal: aborter.signal });
      if (res.status !== 200) throw new Error(`/inbox/events answered ${res.status}`);
      const reading = (async () => {
        const reader = res.body!.getReader();
        let buf = '';
        try {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) return;
            const at = performance.now();
            buf += Buffer.from(value).toString('utf8');
            let end: number;
            while ((end = buf.indexOf('\n\n')) >= 0) {
              const block = buf.slice(0, end);
              buf = buf.slice(end + 2);
              const id = /^id: (\d+)$/m.exec(block);
              if (id && block.includes('event: task')) arrived.set(Number(id[1]), at);
            }
          }
        } catch {
          // Aborted at the end.
        }
      })();

      // The baseline: the rows themselves, polled every 10 ms.
      const rowSeen = new Map<number, number>();
      let polling = true;
      const rowPoll = (async () => {
        let last = 0;
        while (polling) {
          const rows = await store.db.selectFrom('tasks').select('id').where('id', '>', last).orderBy('id').execute();
          const at = performance.now();
          for (const r of rows) {
            rowSeen.set(r.id, at);
            last = Math.max(last, r.id);
          }
          await new Promise((r) => setTimeout(r, 10));
        }
      })();

      const total = Math.round((o.perMinute * o.seconds) / 60);
      const gapMs = 60_000 / o.perMinute;
      const sentAt = new Map<string, number>();
      const run = randomBytes(3).toString('hex');
      const start = performance.now();
      for (let i = 0; i < total; i++) {
        // Paced from the start, not from the last send: the rate holds whatever one add costs.
        const wait = start + i * gapMs - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const email = `lead-${run}-${i}@example.com`;
        const id = `bench-appt-${run}-${i}`;
        sentAt.set(email, performance.now());
        await engine.queues.events.add(EVENT_JOB, { id, type: 'appointment_requested', occurredAt: new Date().toISOString(), contact: { email, firstName: 'Lead' }, data: { source: 'bench' } }, { jobId: eventJobId(id) });
      }
      const seconds = (performance.now() - start) / 1000;
      // Until every promotion's call reached the stream (or 30 s passed: then the misses are reported).
      const deadline = performance.now() + 30_000;
      while (arrived.size < total && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      polling = false;
      await rowPoll;
      aborter.abort();
      await reading;

      const tasks = await store.db.selectFrom('tasks').innerJoin('contacts', 'contacts.id', 'tasks.contact_id').select(['tasks.id', 'contacts.email']).where('tasks.kind', '=', 'call').execute();
      const stream: number[] = [];
      const row: number[] = [];
      for (const t of tasks) {
        const sent = sentAt.get(t.email);
        if (sent === undefined) continue;
        const a = arrived.get(t.id);
        const r = rowSeen.get(t.id);
        if (a !== undefined) stream.push(a - sent);
        if (r !== undefined) row.push(r - sent);
      }
      const summary = (xs: number[]) => ({ p50: pct(xs, 50), p99: pct(xs, 99), max: Math.max(...xs), seen: xs.length });
      return { promotions: total, seconds, perMinute: (total / seconds) * 60, stream: summary(stream), row: summary(row) };
    } finally {
      aborter.abort();
      await engine.stop();
    }
  } finally {
    await store.close();
    await admin.query(`drop database if exists ${dbName} with (force)`);
    await admin.end();
  }
}

async function login(base: string, email: string, password: string): Promise<string> {
  const form = await fetch(`${base}/inbox/login`);
  const loginCookie = (form.headers.getSetCookie()[0] ?? '').split(';')[0]!;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
  const res = await fetch(`${base}/inbox/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: loginCookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, email, password }).toString(),
  });
  if (res.status !== 303) throw new Error(`login answered ${res.status}`);
  const session = res.headers.getSetCookie().find((c) => c.startsWith('nurture_inbox='));
  if (!session) throw new Error('login set no session cookie');
  return session.split(';')[0]!;
}
