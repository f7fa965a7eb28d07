import type { Scheduler } from '../app/scheduler.js';
import type { AfterCommit } from '../engine/engine-deps.js';
import type { Queues } from './queues.js';
import { sendJob, wakeJob } from './queues.js';

/**
 * Puts committed work on the queues. Wake-ups beyond the horizon stay in Postgres only (a
 * six-month wait costs no Redis memory); the sweeper brings them in when they come near.
 */
export async function scheduleAfterCommit(queues: Queues, after: AfterCommit, nowMs: number, horizonMs: number): Promise<void> {
  if (after.sends.length > 0) {
    await queues.sends.addBulk(after.sends.map((s) => sendJob({ touchId: s.touchId, correlationId: s.correlationId }, s.at, nowMs)));
  }
  const near = after.wakes.filter((w) => w.at.getTime() - nowMs <= horizonMs);
  if (near.length > 0) {
    await queues.wakes.addBulk(near.map((w) => wakeJob({ enrollmentId: w.enrollmentId, version: w.version, correlationId: w.correlationId }, w.at, nowMs)));
  }
}

/** The engine's scheduler: committed work goes straight onto the BullMQ queues. */
export function queueScheduler(queues: Queues, horizonMs: number): Scheduler {
  return {
    describe: 'queued',
    schedule: (after, now) => scheduleAfterCommit(queues, after, now.toMillis(), horizonMs),
  };
}
