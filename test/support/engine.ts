import { randomBytes } from 'node:crypto';
import { MessageLinks } from '../../src/security/message-links.js';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { DateTime } from 'luxon';
import type { Config } from '../../src/config.js';
import type { FormDefinition } from '../../src/forms/form-config.js';
import { loadConfig } from '../../src/config.js';
import type { Store } from '../../src/db/database.js';
import type { AppContext } from '../../src/app/context.js';
import { sweeperScheduler } from '../../src/app/scheduler.js';
import type { EngineDeps } from '../../src/engine/engine-deps.js';
import { SequenceRegistry } from '../../src/engine/sequence-registry.js';
import { DEFAULT_PROMOTION_RULES } from '../../src/sequences/lifecycle.js';
import { TemplateCache } from '../../src/templates/compile.js';
import type { Logger } from '../../src/logger.js';
import { createLogger } from '../../src/logger.js';
import type { NurtureEventInput } from '../../src/sequences/event.js';
import type { LoadedSequence } from '../../src/sequences/load.js';
import type { Topic } from '../../src/sequences/topics.js';
import type { TeamDirectory } from '../../src/staff/directory.js';
import type { MailSender } from '../../src/templates/mail-sender.js';
import { EVENT_JOB, eventJobId } from '../../src/workers/queues.js';
import type { RunningEngine } from '../../src/workers/runtime.js';
import { startEngine } from '../../src/workers/runtime.js';
import { programFromYaml } from './programs.js';
import { REDIS_TEST_URL } from './services.js';

export const TEST_TEMPLATES: Record<string, string> = {
  welcome: '---\nsubject: "Welcome {{default firstName \\"friend\\"}}"\n---\n<p>Hi {{default firstName "there"}}</p>\n',
  guide: '---\nsubject: Your guide\n---\n<p>The guide.</p>\n',
  nudge: '---\nsubject: Still there?\n---\n<p>Nudge.</p>\n',
  monthly: '---\nsubject: Monthly note\n---\n<p>Monthly.</p>\n',
  postcard: '---\nsubject: Postcard\n---\n<p>Dear {{default firstName "neighbour"}}</p>\n',
};

export async function writeTemplates(templates: Record<string, string> = TEST_TEMPLATES): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'nurture-tpl-'));
  for (const [name, body] of Object.entries(templates)) {
    await mkdir(path.dirname(path.join(dir, `${name}.hbs`)), { recursive: true });
    await writeFile(path.join(dir, `${name}.hbs`), body);
  }
  return dir;
}

/** A config for one test file: its own queue prefix and data dir, so files can run in parallel. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    REDIS_URL: REDIS_TEST_URL,
    NURTURE_QUEUE_PREFIX: `t${randomBytes(5).toString('hex')}`,
    NURTURE_DATA_DIR: path.join(tmpdir(), `nurture-test-${randomBytes(4).toString('hex')}`),
    NURTURE_SWEEP_INTERVAL_MS: '200',
    NURTURE_LOCK_MS: '5000',
    NURTURE_LOG_LEVEL: process.env.NURTURE_TEST_LOG ?? 'silent',
    // Any free port: files run in parallel. Links in mail then name the port the server got.
    NURTURE_HTTP_PORT: '0',
    NURTURE_SECRET: TEST_SECRET,
    ...env,
  });
}

export interface TestEngine {
  engine: RunningEngine;
  config: Config;
  redis: Redis;
  emit(e: Partial<NurtureEventInput> & { type: string; email?: string }): Promise<string>;
  emitRaw(payload: unknown, jobId?: string): Promise<void>;
  stop(): Promise<void>;
}

let seq = 0;

export async function startTestEngine(o: {
  store: Store;
  sequences: string[];
  templatesDir: string;
  config?: Config;
  mail?: MailSender;
  sweeper?: boolean;
  clock?: () => DateTime;
  /** Serve HTTP too (on a free port: `engine.http.url`). */
  http?: boolean;
  /** A logger of the test's own (to read what the engine logs); silent by default. */
  log?: Logger;
  workers?: { events?: boolean; wakes?: boolean; sends?: boolean };
  /** Topics of the preference page (topics.yaml). */
  topics?: readonly Topic[];
  /** Hosted opt-in forms the server takes (parseForms of a forms.yaml text). */
  forms?: ReadonlyMap<string, FormDefinition>;
  /** The team directory (staff users of the inbox). */
  staff?: TeamDirectory;
}): Promise<TestEngine> {
  const config = o.config ?? testConfig();
  const publish: LoadedSequence[] = o.sequences.map((y, i) => ({ file: `seq-${i}.yaml`, program: programFromYaml(y) }));
  const engine = await startEngine({
    config,
    templatesDir: o.templatesDir,
    publish,
    sweeper: o.sweeper ?? true,
    mayLaunchRedis: false,
    serveEmbedded: false,
    log: o.log ?? createLogger(config.logLevel),
    store: o.store,
    ...(o.workers ? { workers: o.workers } : {}),
    http: o.http ?? false,
    ...(o.topics ? { topics: o.topics } : {}),
    ...(o.forms ? { forms: o.forms } : {}),
    ...(o.mail ? { mail: o.mail } : {}),
    ...(o.clock ? { clock: o.clock } : {}),
    ...(o.staff ? { staff: o.staff } : {}),
  });
  const redis = new Redis(config.redisUrl ?? REDIS_TEST_URL);
  return {
    engine,
    config,
    redis,
    async emit(e) {
      const id = e.id ?? `evt-${Date.now()}-${seq++}-${randomBytes(3).toString('hex')}`;
      const event = {
        id,
        occurredAt: e.occurredAt ?? new Date().toISOString(),
        contact: e.contact ?? { email: e.email ?? 'ann@example.com' },
        data: e.data ?? {},
        type: e.type,
      };
      await engine.queues.events.add(EVENT_JOB, event, { jobId: eventJobId(`${id}-${seq++}`) });
      return id;
    },
    async emitRaw(payload, jobId) {
      await engine.queues.events.add(EVENT_JOB, payload, jobId ? { jobId } : {});
    },
    async stop() {
      await engine.stop();
      // A worker or connection the engine forgot to close would keep a process alive for ever.
      const leaked = String(await redis.call('CLIENT', 'LIST'))
        .split('\n')
        .filter((line) => line.includes(` name=${config.queuePrefix}:`));
      if (leaked.length > 0) throw new Error(`engine stopped but left ${leaked.length} Redis connection(s) open:\n${leaked.join('\n')}`);
      await deleteQueueKeys(redis, config.queuePrefix);
      redis.disconnect();
      await rm(config.dataDir, { recursive: true, force: true });
    },
  };
}

export async function deleteQueueKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

/** Polls until `check` returns a truthy value; fails with the last value seen. Not a timing assertion. */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${String(last)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Links in test mail: a fixed secret, so a test can sign or verify tokens itself. */
export const TEST_SECRET = 'test-secret-0123456789abcdef0123456789abcdef';
export const TEST_LINK_CONFIG = { secrets: [TEST_SECRET], databaseUrl: undefined, dataDir: '/nonexistent', http: { publicUrl: 'http://nurture.test' } };

/** Engine dependencies for tests that call the engine directly (no queues), with a fixed config. */
export async function createTestDeps(
  db: Store['db'],
  sequences: LoadedSequence[],
  templatesDir: string,
): Promise<{ deps: EngineDeps; published: { sequenceId: string; version: string; previous: string | null }[] }> {
  const registry = new SequenceRegistry(db, { templatesDir });
  const published = await registry.publish(sequences);
  const deps: EngineDeps = {
    db,
    registry,
    templates: new TemplateCache(templatesDir),
    config: {
      defaultZone: 'UTC',
      caps: undefined,
      promotion: DEFAULT_PROMOTION_RULES,
      leadCallDue: { kind: 'calendar', parts: { hours: 1 }, text: '1 hour' },
      from: 'Nurture <nurture@example.com>',
      // Off: these tests compare rendered bodies; tracking is tested through the real runtime (test/http/tracking.test.ts).
      tracking: { clicks: false, opens: false },
      unsubscribeMailto: 'unsubscribe@example.com',
    },
    links: new MessageLinks(TEST_LINK_CONFIG),
  };
  return { deps, published };
}

/** A use-case context over test deps: follow-up work is left to a sweeper, as in a CLI command. */
export function appContextFor(deps: EngineDeps): AppContext {
  return { deps, scheduler: sweeperScheduler, log: createLogger('silent') };
}
