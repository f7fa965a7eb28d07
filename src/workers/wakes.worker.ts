import { Worker } from 'bullmq';
import type { Job } from 'bullmq';
import { lagSeconds } from '../app/metrics.js';
import type { WakeUpOutcome } from '../app/run-wake-up.js';
import type { WakeUpRequest } from '../app/run-wake-ups.js';
import { runWakeUps } from '../app/run-wake-ups.js';
import { Batcher } from './batcher.js';
import type { WakePayload } from './queues.js';
import { WAKE_ATTEMPTS, WAKE_BATCH_JOB, WAKE_JOB, WAKES_QUEUE, wakeBatchPayloadSchema, wakeMemberId, wakePayloadSchema } from './queues.js';
import type { Settled } from './batch-job.js';
import { runItemJob } from './batch-job.js';
import type { ItemGate } from './item-gate.js';
import type { WorkerContext } from './worker-context.js';

/**
 * Runs enrollments whose wait is over, many per transaction (a cohort due at one instant is a
 * burst). A job carries up to NURTURE_WAKE_BATCH wake-ups (the one-item jobs of earlier releases
 * still run); what several jobs carry is gathered into batches as events are, and at most
 * NURTURE_WAKE_CONCURRENCY wake-ups are in flight however they are spread over jobs. Stale wake-ups
 * (older wake_version) are no-ops by design. A job whose wake-ups partly failed keeps only those
 * and is tried again with backoff; one that fails its last try is removed, and the sweeper offers
 * what it still carried again (those quarantined meanwhile excepted).
 */
export function startWakesWorker(ctx: WorkerContext, gate: ItemGate): Worker {
  const batcher = new Batcher<WakeUpRequest, WakeUpOutcome>(
    (requests) =>
      runWakeUps(ctx.app, requests, ctx.clock(), {
        maxTries: WAKE_ATTEMPTS,
        onRetry: (err, attempt) => {
          ctx.metrics.serviceError('database');
          ctx.log.warn({ attempt, wakeUps: requests.length, err: (err as Error).message }, 'database away during wake-ups; trying again');
        },
      }),
    Math.max(1, Math.min(ctx.concurrency.wakes, ctx.wakeBatch)),
    2,
  );

  const runOne = async (p: WakePayload, job: Job): Promise<Settled> => {
    const { enrollmentId, version, correlationId } = p;
    const log = ctx.log.child({ enrollmentId, ...(correlationId ? { correlationId } : {}) });
    // Jobs queued before `due` was carried: the time the job was to run stands in.
    const due = p.due ?? job.timestamp + (job.delay ?? 0);
    const started = ctx.clock().toMillis();
    let r: WakeUpOutcome;
    try {
      r = await batcher.submit({ enrollmentId, version, correlationId });
    } catch (err) {
      // The database stayed away: not counted against the enrollment; the job tries again.
      return { done: false, error: err };
    }
    // Only the first try's lag says how late the engine is; a retry is late by its backoff.
    if (job.attemptsMade === 0) ctx.metrics.wakeUp(lagSeconds(due, started), r.status);
    if (r.status === 'failed') {
      if (r.quarantined) {
        log.error({ tries: r.failures, err: r.error }, 'wake-up quarantined (see nurture enrollments stuck)');
        return { done: true };
      }
      log.warn({ tries: r.failures, of: WAKE_ATTEMPTS, err: r.error }, 'wake-up failed; will try again');
      return { done: false, error: r.error };
    }
    log.debug({ status: r.status }, 'wake-up ran');
    return { done: true };
  };

  const kind = {
    batchName: WAKE_BATCH_JOB,
    oneName: WAKE_JOB,
    field: 'wakeUps' as const,
    one: wakePayloadSchema,
    batch: wakeBatchPayloadSchema,
    noun: 'wake-up',
    member: wakeMemberId,
    queue: ctx.queues.wakes,
    gate,
    run: runOne,
    retryText: (again: number, of: number) => `${again} of ${of} wake-ups failed`,
  };
  return new Worker(WAKES_QUEUE, (job: Job) => runItemJob(job, kind), ctx.workerOptions(ctx.concurrency.wakes));
}
