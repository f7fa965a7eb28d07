import type { Config } from '../config.js';
import { openStore } from '../db/database.js';
import type { AfterCommit, EngineDeps } from '../engine/commit-advance.js';
import { SequenceRegistry } from '../engine/sequence-registry.js';
import { TemplateCache } from '../templates/compile.js';
import { openQueues } from '../workers/queues.js';
import type { Queues } from '../workers/queues.js';
import { redisConnection, resolveRedis } from '../workers/redis-connection.js';
import { scheduleAfterCommit } from '../workers/schedule.js';

/**
 * For a short command (the CLI's manual control): the engine's dependencies on the configured
 * store, built once, closed after `fn`. The live sequences are read from the store, as a worker
 * process reads them; templates come from `templatesDir` (a step run by hand may render a piece).
 */
export async function withEngineDeps<T>(cfg: Config, templatesDir: string, fn: (deps: EngineDeps) => Promise<T>): Promise<T> {
  const store = await openStore({ databaseUrl: cfg.databaseUrl, dataDir: cfg.dataDir, poolSize: 2 });
  try {
    const registry = new SequenceRegistry(store.db);
    await registry.refresh();
    return await fn({ db: store.db, registry, templates: new TemplateCache(templatesDir), config: cfg });
  } finally {
    await store.close();
  }
}

/**
 * The queues of the running engine, for a command that must touch a job there (a failed send
 * job keeps its id and would block the same email from being queued again). Never starts a Redis.
 */
export async function withQueues<T>(cfg: Config, fn: (queues: Queues) => Promise<T>): Promise<T> {
  const { url } = await resolveRedis(cfg.redisUrl, { dataDir: cfg.dataDir, mayLaunch: false, log: () => {} });
  const connection = redisConnection(url, 'producer');
  const queues = openQueues(connection, cfg.queuePrefix);
  try {
    return await fn(queues);
  } finally {
    await queues.close();
    await connection.quit().catch(() => connection.disconnect());
  }
}

/** Puts committed follow-up work on the queues now (rather than waiting for the sweeper). */
export async function scheduleNow(queues: Queues, after: AfterCommit, nowMs: number, horizonMs: number): Promise<void> {
  await scheduleAfterCommit(queues, after, nowMs, horizonMs);
}

/** Whether there is follow-up work at all, for the command's output. */
export function hasWork(after: AfterCommit): boolean {
  return after.sends.length > 0 || after.wakes.length > 0;
}

export const SWEEPER_NOTE = 'the running engine (nurture start) queues the follow-up work from the database within seconds';
