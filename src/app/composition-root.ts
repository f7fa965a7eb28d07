import type { Config } from '../config.js';
import type { Store } from '../db/database.js';
import { openStore } from '../db/database.js';
import type { EngineDeps } from '../engine/engine-deps.js';
import { SequenceRegistry } from '../engine/sequence-registry.js';
import type { Logger } from '../logger.js';
import type { ScoringRules } from '../scoring/rules.js';
import type { TeamDirectory } from '../staff/directory.js';
import { createLogger } from '../logger.js';
import type { ReadDb } from '../queries/read-db.js';
import type { Queues } from '../workers/queues.js';
import { openQueues } from '../workers/queues.js';
import { redisClient, resolveRedisTarget } from '../workers/redis-connection.js';
import { TemplateCache } from '../templates/compile.js';
import { MessageLinks } from '../security/message-links.js';
import type { AppContext } from './context.js';
import type { Scheduler } from './scheduler.js';
import { storeOptions } from './store-options.js';
import { sweeperScheduler } from './scheduler.js';

/**
 * The one place a short-lived process (a CLI command, later a request-scoped job) builds its
 * dependencies: the store, the live sequences, the templates, where follow-up work goes. The
 * long-running engine builds the same context in src/workers/runtime.ts with queues attached.
 */

export interface App extends AppContext {
  config: Config;
  store: Store;
  close(): Promise<void>;
}

export interface OpenAppOptions {
  /** Templates for pieces a use case may render (mail tasks of a sequence it enrolls into). */
  templatesDir?: string;
  log?: Logger;
  scheduler?: Scheduler;
  /** The scoring rules (from --scoring), for use cases that score or move stages. */
  scoring?: ScoringRules | undefined;
  /** The team directory (from --directory), for use cases that assign or check staff. */
  staff?: TeamDirectory | undefined;
}

export function engineDeps(db: Store['db'], registry: SequenceRegistry, templates: TemplateCache, config: Config, scoring?: ScoringRules): EngineDeps {
  return { db, registry, templates, config, links: new MessageLinks(config), scoring };
}

export async function openApp(config: Config, o: OpenAppOptions = {}): Promise<App> {
  const log = o.log ?? createLogger(config.logLevel);
  const store = await openStore(storeOptions(config, { poolSize: 2, log }));
  try {
    const registry = new SequenceRegistry(store.db);
    await registry.refresh();
    const deps = engineDeps(store.db, registry, new TemplateCache(o.templatesDir ?? './templates'), config, o.scoring);
    return {
      config,
      store,
      deps,
      scheduler: o.scheduler ?? sweeperScheduler,
      log,
      staff: o.staff,
      close: () => store.close(),
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}

/** Runs a use case with an app opened for it, and closes the app whatever happens. */
export async function withApp<T>(config: Config, fn: (app: App) => Promise<T>, o: OpenAppOptions = {}): Promise<T> {
  const app = await openApp(config, o);
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}

/** Runs a read model against the store (reaching a running engine's embedded store through its socket). */
export async function withReadDb<T>(config: Config, fn: (db: ReadDb) => Promise<T>): Promise<T> {
  const store = await openStore(storeOptions(config, { poolSize: 2 }));
  try {
    return await fn(store.db);
  } finally {
    await store.close();
  }
}

/**
 * The queues of the running engine, for a command that puts work there at once (a retried
 * email) rather than leaving it to the sweeper. Never starts a Redis.
 */
export async function withQueues<T>(config: Config, fn: (queues: Queues) => Promise<T>): Promise<T> {
  const { target } = await resolveRedisTarget(config, { dataDir: config.dataDir, mayLaunch: false, log: () => {} });
  const connection = redisClient(target, 'producer');
  const queues = openQueues(connection, config.queuePrefix, { wakes: config.wakeBatch, sends: config.sendBatch });
  try {
    return await fn(queues);
  } finally {
    await queues.close();
    await connection.quit().catch(() => connection.disconnect());
  }
}
