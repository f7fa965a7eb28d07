import type { Scheduler } from '../app/scheduler.js';
import type { AfterCommit } from '../engine/engine-deps.js';
import type { Queues } from './queues.js';
import { sendBatchJobs, wakeBatchJobs } from './queues.js';
import { offerJobs } from './queued-work.js';

/**
 * Puts committed work on the queues, many items per job (a batch of events or wake-ups makes its
 * emails in one go). Wake-ups beyond the horizon stay in Postgres only (a six-month wait costs no
 * Redis memory); the sweeper brings them in when they come near.
 */
export async function scheduleAfterCommit(queues: Queues, after: AfterCommit, nowMs: number, horizonMs: number): Promise<void> {
  if (after.sends.length > 0) await offerJobs(queues.sends, sendBatchJobs(after.sends, nowMs, queues.perJob.sends));
  const near = after.wakes.filter((w) => w.at.getTime() - nowMs <= horizonMs);
  if (near.length > 0) await offerJobs(queues.wakes, wakeBatchJobs(near, nowMs, queues.perJob.wakes));
}

/** The engine's scheduler: committed work goes straight onto the BullMQ queues. */
export function queueScheduler(queues: Queues, horizonMs: number): Scheduler {
  return {
    describe: 'queued',
    schedule: (after, now) => scheduleAfterCommit(queues, after, now.toMillis(), horizonMs),
  };
}
