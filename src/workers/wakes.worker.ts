import { UnrecoverableError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import { lagSeconds } from '../app/metrics.js';
import type { WakeUpOutcome } from '../app/run-wake-up.js';
import type { WakeUpRequest } from '../app/run-wake-ups.js';
import { runWakeUps } from '../app/run-wake-ups.js';
import { Batcher } from './batcher.js';
import type { WakePayload } from './queues.js';
import { WAKE_ATTEMPTS, WAKES_QUEUE, wakePayloadSchema } from './queues.js';
import type { WorkerContext } from './worker-context.js';

/**
 * Runs enrollments whose wait is over, many per transaction (a cohort due at one instant is a
 * burst): concurrent jobs are gathered into batches as events are. Stale jobs (older
 * wake_version) are no-ops by design.
 */
export function startWakesWorker(ctx: WorkerContext): Worker {
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
  const process = async (job: Job<WakePayload>): Promise<string> => {
    const payload = wakePayloadSchema.safeParse(job.data);
    if (!payload.success) throw new UnrecoverableError(`malformed wake-up job ${job.id}: ${payload.error.issues[0]?.message}`);
    const { enrollmentId, version, correlationId } = payload.data;
    const log = ctx.log.child({ enrollmentId, ...(correlationId ? { correlationId } : {}) });
    // Jobs queued before `due` was carried: the time the job was to run stands in.
    const due = payload.data.due ?? job.timestamp + (job.delay ?? 0);
    const started = ctx.clock().toMillis();
    const r = await batcher.submit({ enrollmentId, version, correlationId });
    // Only the first try's lag says how late the engine is; a retry is late by its backoff.
    if (job.attemptsMade === 0) ctx.metrics.wakeUp(lagSeconds(due, started), r.status);
    if (r.status === 'failed') {
      if (r.quarantined) {
        log.error({ tries: r.failures, err: r.error }, 'wake-up quarantined (see nurture enrollments stuck)');
        throw new UnrecoverableError(`quarantined after ${r.failures} tries: ${r.error}`);
      }
      log.warn({ tries: r.failures, of: WAKE_ATTEMPTS, err: r.error }, 'wake-up failed; will try again');
      throw new Error(r.error);
    }
    log.debug({ status: r.status }, 'wake-up ran');
    return r.status;
  };
  return new Worker(WAKES_QUEUE, process, ctx.workerOptions(ctx.concurrency.wakes));
}
