import { UnrecoverableError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import { runWakeUp } from '../app/run-wake-up.js';
import type { WakePayload } from './queues.js';
import { WAKE_ATTEMPTS, WAKES_QUEUE, wakePayloadSchema } from './queues.js';
import type { WorkerContext } from './worker-context.js';

/** Runs enrollments whose wait is over. Stale jobs (older wake_version) are no-ops by design. */
export function startWakesWorker(ctx: WorkerContext): Worker {
  const process = async (job: Job<WakePayload>): Promise<string> => {
    const payload = wakePayloadSchema.safeParse(job.data);
    if (!payload.success) throw new UnrecoverableError(`malformed wake-up job ${job.id}: ${payload.error.issues[0]?.message}`);
    const { enrollmentId, version } = payload.data;
    const now = ctx.clock();
    const r = await runWakeUp(ctx.app, enrollmentId, version, now, {
      maxTries: WAKE_ATTEMPTS,
      onRetry: (err, attempt) => ctx.log.warn({ enrollmentId, attempt, err: (err as Error).message }, 'database away during a wake-up; trying again'),
    });
    if (r.status === 'failed') {
      if (r.quarantined) {
        ctx.log.error({ enrollmentId, tries: r.failures, err: r.error }, 'wake-up quarantined (see nurture enrollments stuck)');
        throw new UnrecoverableError(`quarantined after ${r.failures} tries: ${r.error}`);
      }
      ctx.log.warn({ enrollmentId, tries: r.failures, of: WAKE_ATTEMPTS, err: r.error }, 'wake-up failed; will try again');
      throw new Error(r.error);
    }
    return r.status;
  };
  return new Worker(WAKES_QUEUE, process, ctx.workerOptions(ctx.concurrency.wakes));
}
