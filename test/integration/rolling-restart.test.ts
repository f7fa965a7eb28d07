import { rm } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { openStore } from '../../src/db/database.js';
import type { Store } from '../../src/db/database.js';
import { EVENT_JOB, eventJobId } from '../../src/workers/queues.js';
import type { RunningEngine } from '../../src/workers/runtime.js';
import { startEngine } from '../../src/workers/runtime.js';
import { createTestDatabase } from '../support/databases.js';
import { deleteQueueKeys, eventually, testConfig, writeTemplates } from '../support/engine.js';
import { programFromYaml } from '../support/programs.js';
import type { TestSmtp } from '../support/smtp.js';
import { startTestSmtp } from '../support/smtp.js';

/**
 * A rolling restart: two engine processes (as `nurture worker` runs them: own pools, own
 * sweepers) on one Postgres and one Redis. One stops as SIGTERM stops it (in-flight work drains);
 * the other's sweeper takes over the sweeps at once (the advisory lock is held per sweep, not
 * leased, so there is nothing to expire) and offers the wake-up that only a sweep can bring:
 * it is due beyond the scheduling horizon, so no job for it was queued when it was committed.
 */
const SEQ = `
id: rolling
trigger: { event: opt_in }
steps:
  - email: welcome
  - wait: 6 seconds
  - email: guide
`;

describe('rolling restart', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let smtp: TestSmtp;
  let templatesDir: string;
  let config: Config;
  let first: RunningEngine | undefined;
  let second: RunningEngine | undefined;
  let store: Store;
  let redis: Redis;

  const engine = (publish: boolean) =>
    startEngine({
      config,
      templatesDir,
      ...(publish ? { publish: [{ file: 'rolling.yaml', program: programFromYaml(SEQ) }] } : {}),
      sweeper: true,
      mayLaunchRedis: false,
      serveEmbedded: false,
      log: createLogger('silent'),
    });

  beforeAll(async () => {
    database = await createTestDatabase();
    smtp = await startTestSmtp();
    templatesDir = await writeTemplates();
    // Wake-ups more than a second ahead stay in Postgres until a sweep offers them.
    config = testConfig({ DATABASE_URL: database.url, SMTP_URL: smtp.url, NURTURE_SCHEDULE_HORIZON_MS: '1000' });
    first = await engine(true);
    second = await engine(false);
    store = await openStore({ databaseUrl: database.url, dataDir: config.dataDir, poolSize: 1 });
    redis = new Redis(config.redisUrl!);
  });
  afterAll(async () => {
    await first?.stop();
    await second?.stop();
    await store?.close();
    if (redis) {
      await deleteQueueKeys(redis, config.queuePrefix);
      redis.disconnect();
    }
    await smtp?.close();
    await database?.drop({ checkLeaks: true });
    if (templatesDir) await rm(templatesDir, { recursive: true, force: true });
    await rm(config.dataDir, { recursive: true, force: true });
  });

  it('keeps offering due work from the process left running, and sends each email once', async () => {
    const email = 'rolling-eve@example.com';
    await first!.queues.events.add(EVENT_JOB, { id: 'rolling-1', type: 'opt_in', contact: { email } }, { jobId: eventJobId('rolling-1') });
    await eventually(async () => smtp.received.some((m) => m.to === email && m.subject.startsWith('Welcome')), 'the first email');
    const enrollment = await store.db.selectFrom('enrollments').select(['next_wake_at']).executeTakeFirstOrThrow();
    // Not yet within the horizon, so no sweep of the first engine can have offered it before it stops.
    expect(enrollment.next_wake_at!.getTime()).toBeGreaterThan(Date.now() + 2500);

    // SIGTERM's path: drain in-flight jobs, stop the sweeper, close everything.
    await first!.stop();
    first = undefined;
    const sweepsBefore = await offeredBy(second!);

    await eventually(async () => smtp.received.some((m) => m.to === email && m.subject === 'Your guide'), 'the second email, offered by the remaining sweeper', 30_000);
    expect(await offeredBy(second!)).toBeGreaterThan(sweepsBefore);
    expect(smtp.received.filter((m) => m.to === email).map((m) => m.subject)).toEqual(['Welcome friend', 'Your guide']);
  });
});

/** How many wake-ups this engine's sweeper has offered, from its own /metrics figures. */
async function offeredBy(e: RunningEngine): Promise<number> {
  const { body } = await e.metrics.render();
  return Number(/^nurture_sweep_offered_total\{kind="wake"\} (\d+)/m.exec(body)?.[1] ?? 0);
}
