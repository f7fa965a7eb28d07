import { UnrecoverableError } from 'bullmq';
import type { Job, Queue } from 'bullmq';
import type { z } from 'zod';
import { messageOf } from '../errors.js';
import type { ItemGate } from './item-gate.js';
import { settleMembers } from './queued-work.js';

/** What became of one item of a job: done with, or to be tried again (and why). */
export type Settled = { done: true } | { done: false; error: unknown };

/** One kind of job of many items (wake-ups, sends), as its worker runs it. */
export interface ItemJobKind<P, F extends string> {
  /** The name of a job of many items. */
  batchName: string;
  /** The name of a one-item job of an earlier release (still run). */
  oneName: string;
  /** The field of the job's data that holds its items. */
  field: F;
  one: z.ZodType<P>;
  batch: z.ZodType<Record<F, P[]>>;
  /** For messages: `wake-up`, `send`. */
  noun: string;
  member: (item: P) => string;
  queue: Queue;
  gate: ItemGate;
  run: (item: P, job: Job) => Promise<Settled>;
  /** What a retry says, before `(first: …)`: `3 of 100 wake-ups failed`. */
  retryText: (again: number, of: number) => string;
}

function malformed(kind: { noun: string }, job: Job, error: z.ZodError): UnrecoverableError {
  const issue = error.issues[0];
  const where = issue?.path.length ? issue.path.join('.') : '(the whole job)';
  return new UnrecoverableError(`malformed ${kind.noun} job ${job.id}: ${where}: ${issue?.message}`);
}

/**
 * Runs every item of a job under the gate. The markers of the items done with are removed; if
 * some must be tried again, the job keeps only those and throws, for BullMQ to retry it with
 * backoff (an item done is never run twice by a retry). Job data comes from Redis, a boundary:
 * a job that does not parse fails alone, for good, saying which field is wrong.
 */
export async function runItemJob<P, F extends string>(job: Job, kind: ItemJobKind<P, F>): Promise<string> {
  const batch = job.name === kind.batchName;
  let items: P[];
  if (batch) {
    const parsed = kind.batch.safeParse(job.data);
    if (!parsed.success) throw malformed(kind, job, parsed.error);
    items = parsed.data[kind.field];
  } else if (job.name === kind.oneName) {
    const one = kind.one.safeParse(job.data);
    if (!one.success) throw malformed(kind, job, one.error);
    items = [one.data];
  } else {
    throw new UnrecoverableError(`${kind.noun} job ${job.id} has the name "${job.name}": a ${kind.noun} job is named "${kind.batchName}" (or "${kind.oneName}", from an earlier release)`);
  }
  const settled = await kind.gate.each(items, (item) => kind.run(item, job));
  // A one-item job of an earlier release has no marker to settle.
  if (batch) await settleMembers(kind.queue, job.id, items.filter((_, i) => settled[i]!.done).map(kind.member));
  const again = items.filter((_, i) => !settled[i]!.done);
  if (again.length === 0) return `${items.length} done`;
  const first = settled.find((s): s is Extract<Settled, { done: false }> => !s.done)!;
  // A one-item job of an earlier release fails with its item's own error, as it always did.
  if (!batch) throw first.error instanceof Error ? first.error : new Error(messageOf(first.error));
  await job.updateData({ [kind.field]: again });
  throw new Error(`${kind.retryText(again.length, items.length)} (first: ${messageOf(first.error)})`);
}
