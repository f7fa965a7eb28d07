import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDoctor } from '../../src/app/doctor.js';
import type { Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { EVENT_JOB, EVENTS_QUEUE, SENDS_QUEUE, WAKES_QUEUE, eventJobId } from '../../src/workers/queues.js';
import type { RunningEngine } from '../../src/workers/runtime.js';
import { startEngine } from '../../src/workers/runtime.js';
import { eventually, testConfig, writeTemplates } from '../support/engine.js';
import { API_KEY, optIn, postEvents } from '../support/http-events.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';
import { programFromYaml } from '../support/programs.js';
import { POSTGRES_TEST_URL } from '../support/services.js';
import type { TestCluster } from '../support/redis-cluster.js';
import { startTestCluster } from '../support/redis-cluster.js';
import type { TestSmtp } from '../support/smtp.js';
import { startTestSmtp } from '../support/smtp.js';

/**
 * The whole engine on a real three-node Redis Cluster (redis-server with cluster-enabled, slots
 * spread by redis-cli --cluster create): events in through the queue and over HTTP (the durable
 * intake and its drainer), enrollments, a wake-up offered by the sweeper, emails to a real SMTP
 * sink; then the other uses of Redis: queue depths in /metrics, /readyz, bull-board, doctor.
 * Without the hash tag in the prefix, BullMQ's first script fails with CROSSSLOT.
 */
const SEQ = `
id: cluster
trigger: { event: opt_in }
steps:
  - email: welcome
  - wait: 2 seconds
  - email: guide
`;
const CONTACTS = 20;
const PASSWORD = 'cluster-operator-password';

describe('the engine on a three-node Redis Cluster', () => {
  let cluster: TestCluster;
  let store: TestStore;
  let smtp: TestSmtp;
  let templatesDir: string;
  let config: Config;
  let engine: RunningEngine | undefined;

  beforeAll(async () => {
    cluster = await startTestCluster(3);
    store = await createTestStore('postgres');
    smtp = await startTestSmtp();
    templatesDir = await writeTemplates();
    config = testConfig({
      // Empty is unset: the cluster, not the shared Redis of the other test files.
      REDIS_URL: '',
      REDIS_CLUSTER_NODES: cluster.nodesEnv,
      SMTP_URL: smtp.url,
      // The 2-second wait is beyond the horizon: only a sweep (on the cluster) can offer it.
      NURTURE_SCHEDULE_HORIZON_MS: '1000',
      NURTURE_API_KEYS: API_KEY,
      NURTURE_ADMIN_PASSWORD: PASSWORD,
    });
    engine = await startEngine({
      config,
      templatesDir,
      publish: [{ file: 'cluster.yaml', program: programFromYaml(SEQ) }],
      sweeper: true,
      mayLaunchRedis: false,
      serveEmbedded: false,
      http: true,
      store,
      log: createLogger(config.logLevel),
    });
  }, 60_000);

  afterAll(async () => {
    await engine?.stop();
    await smtp?.close();
    await store?.cleanup();
    await cluster?.stop();
    if (templatesDir) await rm(templatesDir, { recursive: true, force: true });
    if (config) await rm(config.dataDir, { recursive: true, force: true });
  });

  it('puts a hash tag in the queue prefix, and only on a cluster', () => {
    expect(config.queuePrefix).toMatch(/^\{t[0-9a-f]{10}\}$/);
    expect(testConfig().queuePrefix).toMatch(/^t[0-9a-f]{10}$/);
  });

  it('takes opt-ins from the queue and over HTTP through enrollment, a swept wake-up and two emails each', async () => {
    const emails = Array.from({ length: CONTACTS }, (_, i) => `cluster-${i}@example.com`);
    for (const [i, email] of emails.slice(1).entries()) {
      await engine!.queues.events.add(EVENT_JOB, { id: `cl-${i}`, type: 'opt_in', occurredAt: new Date().toISOString(), contact: { email } }, { jobId: eventJobId(`cl-${i}`) });
    }
    const posted = await postEvents(engine!.http!.url, optIn(emails[0]!), { key: API_KEY });
    expect(posted.status).toBeLessThan(300);

    await eventually(async () => smtp.received.length >= CONTACTS * 2, `${CONTACTS * 2} emails`, 30_000);
    for (const email of emails) {
      expect(smtp.received.filter((m) => m.to === email).map((m) => m.subject)).toEqual(['Welcome friend', 'Your guide']);
    }
    const enrollments = await store.db.selectFrom('enrollments').select(['status']).execute();
    expect(enrollments).toHaveLength(CONTACTS);
    // The sink has a message a moment before its touch is marked sent.
    const touches = await eventually(async () => {
      const rows = await store.db.selectFrom('touches').select(['status']).execute();
      return rows.every((t) => t.status === 'sent') ? rows : undefined;
    }, 'every touch marked sent');
    expect(touches).toHaveLength(CONTACTS * 2);
    // The HTTP event went through the durable intake: settled once applied.
    await eventually(async () => (await store.db.selectFrom('event_intake').select('id').execute()).length === 0, 'the intake table to settle');
    const { body } = await engine!.metrics.render();
    expect(Number(/^nurture_sweep_offered_total\{kind="wake"\} (\d+)/m.exec(body)?.[1] ?? 0)).toBeGreaterThanOrEqual(CONTACTS);
  }, 60_000);

  it('keeps every key of the queues in one hash slot, whichever node holds it', async () => {
    const slots = new Set<number>();
    const holders = new Set<number>();
    let keys = 0;
    for (const port of cluster.ports) {
      const node = cluster.node(port);
      let cursor = '0';
      do {
        const [next, found] = await node.scan(cursor, 'COUNT', 1000);
        cursor = next;
        for (const key of found) {
          keys++;
          holders.add(port);
          expect(key.startsWith(`${config.queuePrefix}:`)).toBe(true);
          slots.add(Number(await node.cluster('KEYSLOT', key)));
        }
      } while (cursor !== '0');
    }
    // The queues' meta keys and the sweeper's marker at least.
    expect(keys).toBeGreaterThan(3);
    expect(slots.size).toBe(1);
    expect(holders.size).toBe(1);
  });

  it('reads queue depths for /metrics, answers /readyz and serves bull-board from the cluster', async () => {
    await engine!.queues.sends.add('parked', { touchId: '00000000-0000-4000-8000-000000000000' }, { jobId: 'send-parked', delay: 3_600_000 });
    const { body } = await engine!.metrics.render();
    expect(body).toMatch(new RegExp(`^nurture_queue_jobs\\{queue="${SENDS_QUEUE}",state="delayed"\\} 1$`, 'm'));
    expect(body).toMatch(new RegExp(`^nurture_queue_oldest_waiting_seconds\\{queue="${EVENTS_QUEUE}"\\} `, 'm'));
    expect(body).toMatch(/^nurture_service_errors_total\{service="redis"\} 0$/m);

    const ready = await fetch(`${engine!.http!.url}/readyz`);
    expect(ready.status).toBe(200);

    const auth = { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };
    const api = await fetch(`${engine!.http!.url}/admin/queues/api/queues?activeQueue=${SENDS_QUEUE}&status=delayed`, { headers: auth });
    expect(api.status).toBe(200);
    const board = (await api.json()) as { queues: { name: string; counts: Record<string, number> }[] };
    expect(board.queues.map((q) => q.name).sort()).toEqual([EVENTS_QUEUE, SENDS_QUEUE, WAKES_QUEUE]);
    expect(board.queues.find((q) => q.name === SENDS_QUEUE)?.counts.delayed).toBe(1);
    await engine!.queues.sends.remove('send-parked');
  });

  it('has doctor check the cluster and the persistence of every master', async () => {
    const report = await runDoctor({ env: { REDIS_CLUSTER_NODES: cluster.nodesEnv, DATABASE_URL: POSTGRES_TEST_URL, NURTURE_DATA_DIR: config.dataDir }, sequencesDir: '/nonexistent', templatesDir: '/nonexistent', timeoutMs: 3000 });
    const redis = report.checks.filter((c) => c.name.startsWith('redis'));
    expect(redis[0]).toMatchObject({ name: 'redis', status: 'ok', detail: expect.stringContaining('3 masters') });
    // The test nodes run without an append-only file: one warning per master, each named.
    const persistence = redis.filter((c) => c.name === 'redis persistence');
    expect(persistence).toHaveLength(3);
    for (const [i, port] of cluster.ports.entries()) {
      expect(persistence.some((c) => c.status === 'warn' && c.detail.includes(`127.0.0.1:${port}`))).toBe(true);
      if (i === 0) expect(persistence[0]!.fix).toContain('appendonly yes');
    }
  });

  it('closes every connection it opened on the cluster when it stops', async () => {
    await engine!.stop();
    engine = undefined;
    // Left on each node: this file's own connection only (CLIENT LIST lists the asking one too).
    await eventually(async () => {
      const counts = await Promise.all(cluster.ports.map(async (p) => String(await cluster.node(p).client('LIST')).trim().split('\n').length));
      return counts.every((n) => n === 1) ? counts : undefined;
    }, 'only the test\'s own connection on each node', 10_000);
  });
});
