import { UnrecoverableError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import { runWakeUp } from '../app/run-wake-up.js';
import type { WakePayload } from './queues.js';
import { WAKES_QUEUE, wakePayloadSchema } from './queues.js';
import type { WorkerContext } from './worker-context.js';

/** Runs enrollments whose wait is over. Stale jobs (older wake_version) are no-ops by design. */
export function startWakesWorker(ctx: WorkerContext): Worker {
  const process = async (job: Job<WakePayload>): Promise<string> => {
    const payload = wakePayloadSchema.safeParse(job.data);
    if (!payload.success) throw new UnrecoverableError(`malformed wake-up job ${job.id}: ${payload.error.issues[0]?.message}`);
    const now = ctx.clock();
    const r = await runWakeUp(ctx.app, payload.data.enrollmentId, payload.data.version, now);
    return r.status;
  };
  return new Worker(WAKES_QUEUE, process, ctx.workerOptions(ctx.concurrency.wakes));
}
