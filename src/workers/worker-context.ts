import type { WorkerOptions } from 'bullmq';
import type { DateTime } from 'luxon';
import type { AppContext } from '../app/context.js';
import type { Metrics } from '../app/metrics.js';
import type { EngineDeps } from '../engine/engine-deps.js';
import type { Logger } from '../logger.js';
import type { DurationSpec } from '../sequences/time-types.js';
import type { MailSender } from '../templates/mail-sender.js';
import type { Queues } from './queues.js';
import type { RedisClient } from './redis-connection.js';

/** What every worker gets: the engine, the queues, a logger and one clock. */
export interface WorkerContext {
  /** The use cases' context: every worker calls src/app with it. */
  app: AppContext;
  deps: EngineDeps;
  queues: Queues;
  mail: MailSender;
  log: Logger;
  /** Where the workers report what they do (Prometheus in the engine, nowhere in tests that do not ask). */
  metrics: Metrics;
  clock: () => DateTime;
  horizonMs: number;
  concurrency: { events: number; wakes: number; sends: number };
  /** Most events applied in one transaction. */
  eventBatch: number;
  /** Most wake-ups run in one transaction, and most emails claimed in one. */
  wakeBatch: number;
  sendBatch: number;
  /** Events from further ahead than this are refused (NURTURE_MAX_FUTURE_SKEW). */
  maxFutureSkew: DurationSpec;
  workerOptions(concurrency: number): WorkerOptions;
}

export function workerOptionsFactory(connection: RedisClient, prefix: string, lockMs: number): (concurrency: number) => WorkerOptions {
  return (concurrency) => ({
    connection,
    prefix,
    concurrency,
    lockDuration: lockMs,
    stalledInterval: Math.max(1000, Math.floor(lockMs / 2)),
    maxStalledCount: 100,
    removeOnComplete: { count: 0 },
    removeOnFail: { count: 10_000 },
  });
}
