import type { Job, Queue } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { runItemJob } from '../../src/workers/batch-job.js';
import { ItemGate } from '../../src/workers/item-gate.js';
import { WAKE_BATCH_JOB, wakeBatchPayloadSchema, wakeMemberId, wakePayloadSchema } from '../../src/workers/queues.js';

/**
 * Job data comes from Redis, a boundary: a job that does not parse fails for good, alone, naming
 * the job and the field, before any item runs.
 */
describe('a job whose data does not parse', () => {
  const ran: unknown[] = [];
  const kind = {
    batchName: WAKE_BATCH_JOB,
    oneName: 'wake',
    field: 'wakeUps' as const,
    one: wakePayloadSchema,
    batch: wakeBatchPayloadSchema,
    noun: 'wake-up',
    member: wakeMemberId,
    // Never reached: parsing fails first.
    queue: undefined as unknown as Queue,
    gate: new ItemGate(10),
    run: async (item: unknown) => {
      ran.push(item);
      return { done: true as const };
    },
    retryText: (again: number, of: number) => `${again} of ${of} wake-ups failed`,
  };
  const job = (name: string, data: unknown) => ({ id: 'j-1', name, data }) as unknown as Job;

  it('fails for good, naming the field of the item at fault', async () => {
    const bad = job(WAKE_BATCH_JOB, { wakeUps: [{ enrollmentId: '3b1c2c9e-6f0a-4f5e-9a51-5b3d8e0c1f2a', version: 1 }, { enrollmentId: 'not-a-uuid', version: 1 }] });
    const err = await runItemJob(bad, kind).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect((err as Error).message).toMatch(/^malformed wake-up job j-1: wakeUps\.1\.enrollmentId: /);
    expect(ran).toEqual([]);
  });

  it('says so when the whole job, or its name, is not what it should be', async () => {
    const err = await runItemJob(job(WAKE_BATCH_JOB, 'nonsense'), kind).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^malformed wake-up job j-1: \(the whole job\): /);
    const old = await runItemJob(job('wake', { enrollmentId: 'x', version: -1 }), kind).catch((e: unknown) => e);
    expect((old as Error).message).toMatch(/^malformed wake-up job j-1: enrollmentId: /);
    const stranger = await runItemJob(job('wake-all', {}), kind).catch((e: unknown) => e);
    expect(stranger).toBeInstanceOf(UnrecoverableError);
    expect((stranger as Error).message).toBe('wake-up job j-1 has the name "wake-all": a wake-up job is named "wakes" (or "wake", from an earlier release)');
    expect(ran).toEqual([]);
  });
});
