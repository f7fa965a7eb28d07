import type { Scheduler } from '../app/scheduler.js';
import type { AfterCommit } from '../engine/engine-deps.js';
import type { Queues, SendBatchPayload } from './queues.js';
import { sendBatchJobs, wakeBatchJobs } from './queues.js';
import type { MarkedJob } from './queued-work.js';
import { addMarkedJobs, markJobs, offerJobs } from './queued-work.js';

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

/**
 * Queues emails around `commit`, which makes them pending again (a retry): they are marked as
 * queued before it, so a sweep while it commits does not queue them beside these, and their jobs
 * are added after it for those it returns (another commit may have taken some meanwhile).
 */
export async function queueSendsAround<T extends { id: string }>(queues: Queues, sends: readonly { touchId: string; at: Date }[], nowMs: number, commit: () => Promise<T[]>): Promise<T[]> {
  const planned = await markJobs(queues.sends, sendBatchJobs(sends, nowMs, queues.perJob.sends));
  const committed = await commit();
  const kept = new Set(committed.map((c) => c.id));
  await addMarkedJobs(queues.sends, planned.flatMap((j) => onlyThese(j, kept)));
  return committed;
}

function onlyThese(job: MarkedJob<SendBatchPayload>, touchIds: ReadonlySet<string>): MarkedJob<SendBatchPayload>[] {
  const sends = job.data.sends.filter((p) => touchIds.has(p.touchId));
  return sends.length === 0 ? [] : [{ ...job, data: { sends }, members: job.members.filter((m) => touchIds.has(m)) }];
}

/** The engine's scheduler: committed work goes straight onto the BullMQ queues. */
export function queueScheduler(queues: Queues, horizonMs: number): Scheduler {
  return {
    describe: 'queued',
    schedule: (after, now) => scheduleAfterCommit(queues, after, now.toMillis(), horizonMs),
  };
}
