import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisAnswers } from '../../src/workers/redis-connection.js';
import type { TestEngine } from '../support/engine.js';
import { eventually, startTestEngine, testConfig, writeTemplates } from '../support/engine.js';
import { API_KEY, optIn, postEvents } from '../support/http-events.js';
import { freePort } from '../support/net.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';

/**
 * A 202 from POST /v1/events means the events are in Postgres: a Redis killed (SIGKILL, no
 * persistence) right after the answers, and started again empty, loses none of them. The Redis
 * here is this test's own, on a port of its own; the shared one is never touched.
 */
function startRedis(port: number): ChildProcess {
  // No RDB, no AOF: a restart comes back empty, as a Redis that lost its data does.
  return spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], { stdio: 'ignore' });
}

async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

describe('events answered 202 survive a Redis that loses everything', () => {
  let store: TestStore;
  let templatesDir: string;
  let t: TestEngine | undefined;
  let redis: ChildProcess;
  let port: number;

  beforeAll(async () => {
    store = await createTestStore('postgres');
    templatesDir = await writeTemplates();
    port = await freePort();
    redis = startRedis(port);
    await eventually(() => redisAnswers(`redis://127.0.0.1:${port}`), 'the private redis-server answering', 10_000);
    t = await startTestEngine({
      store,
      sequences: [],
      templatesDir,
      http: true,
      config: testConfig({ REDIS_URL: `redis://127.0.0.1:${port}`, NURTURE_API_KEYS: API_KEY }),
    });
    // The test's own connection sees the outage too; it reconnects like the engine's.
    t.redis.on('error', () => {});
  });

  afterAll(async () => {
    await t?.stop();
    await killHard(redis);
    await store?.cleanup();
    await rm(templatesDir, { recursive: true, force: true });
  });

  it('applies every accepted event after Redis is killed with -9 right after the answers and comes back empty', async () => {
    const base = t!.engine.http!.url;
    const batches = Array.from({ length: 20 }, (_, b) => Array.from({ length: 50 }, (_, i) => optIn(`burst-${b}-${i}@example.com`)));
    const answers = await Promise.all(batches.map((batch) => postEvents(base, batch, { key: API_KEY })));
    await killHard(redis);
    expect(answers.map((a) => a.status)).toEqual(batches.map(() => 202));
    const ids = batches.flat().map((e) => e.id as string);
    const appliedAtKill = await countApplied(ids);

    redis = startRedis(port);
    await eventually(() => redisAnswers(`redis://127.0.0.1:${port}`), 'the restarted redis-server answering', 10_000);
    const n = await eventually(async () => ((await countApplied(ids)) === ids.length ? ids.length : undefined), 'every accepted event applied', 60_000);
    expect(n).toBe(1000);
    // For the record: what Redis still held when it died was lost, and came back from event_intake.
    console.log(`events applied when Redis was killed: ${appliedAtKill} of ${ids.length}; all ${n} applied after it came back empty`);
    await eventually(async () => Number((await store.db.selectFrom('event_intake').select(store.db.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n) === 0, 'the intake drained');
  }, 120_000);

  async function countApplied(ids: string[]): Promise<number> {
    const r = await store.db.selectFrom('events').select(store.db.fn.countAll<string>().as('n')).where('id', 'in', ids).executeTakeFirstOrThrow();
    return Number(r.n);
  }
});
