import { UnrecoverableError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import { lagSeconds } from '../app/metrics.js';
import type { WakeUpOutcome } from '../app/run-wake-up.js';
import type { WakeUpRequest } from '../app/run-wake-ups.js';
import { runWakeUps } from '../app/run-wake-ups.js';
import { Batcher } from './batcher.js';
import type { WakePayload } from './queues.js';
import { WAKE_ATTEMPTS, WAKE_BATCH_JOB, WAKES_QUEUE, wakeBatchPayloadSchema, wakeMemberId, wakePayloadSchema } from './queues.js';
import { ItemGate } from './item-gate.js';
import { settleMembers } from './queued-work.js';
import type { WorkerContext } from './worker-context.js';

/** What became of one wake-up of a job: done with (ran, stale, quarantined), or to be tried again. */
type Settled = { done: true } | { done: false; error: string };

/**
 * Runs enrollments whose wait is over, many per transaction (a cohort due at one instant is a
 * burst). A job carries up to NURTURE_WAKE_BATCH wake-ups (the one-item jobs of earlier releases
 * still run); what several jobs carry is gathered into batches as events are, and at most
 * NURTURE_WAKE_CONCURRENCY wake-ups are in flight however they are spread over jobs. Stale wake-ups
 * (older wake_version) are no-ops by design. A job whose wake-ups partly failed keeps only those
 * and is tried again with backoff; one that fails its last try is removed, and the sweeper offers
 * what it still carried again (those quarantined meanwhile excepted).
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
  const gate = new ItemGate(ctx.concurrency.wakes);

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
      return { done: false, error: err instanceof Error ? err.message : String(err) };
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

  const process = async (job: Job): Promise<string> => {
    if (job.name !== WAKE_BATCH_JOB) {
      const one = wakePayloadSchema.safeParse(job.data);
      if (!one.success) throw new UnrecoverableError(`malformed wake-up job ${job.id}: ${one.error.issues[0]?.message}`);
      const payload = one.data;
      const r = await gate.with(1, () => runOne(payload, job));
      if (!r.done) throw new Error(r.error);
      return 'done';
    }
    const parsed = wakeBatchPayloadSchema.safeParse(job.data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new UnrecoverableError(`malformed wake-up job ${job.id}: ${issue?.path.join('.')}: ${issue?.message}`);
    }
    const wakeUps = parsed.data.wakeUps;
    const settled = await gate.each(wakeUps, (w) => runOne(w, job));
    const again = wakeUps.filter((_, i) => !settled[i]!.done);
    const done = wakeUps.filter((_, i) => settled[i]!.done);
    await settleMembers(ctx.queues.wakes, job.id, done.map(wakeMemberId));
    if (again.length === 0) return `${wakeUps.length} run`;
    // Only what failed is tried again: what ran is not run twice (it would be stale anyway).
    await job.updateData({ wakeUps: again });
    const first = settled.find((s): s is Extract<Settled, { done: false }> => !s.done)!;
    throw new Error(`${again.length} of ${wakeUps.length} wake-ups failed (first: ${first.error})`);
  };
  return new Worker(WAKES_QUEUE, process, ctx.workerOptions(ctx.concurrency.wakes));
}
