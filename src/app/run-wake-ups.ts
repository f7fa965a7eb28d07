import type { DateTime } from 'luxon';
import { retryTransient } from '../db/transient.js';
import type { AfterCommit } from '../engine/engine-deps.js';
import { correlated, emptyAfterCommit } from '../engine/engine-deps.js';
import { wakeEnrollments } from '../engine/wake-enrollments.js';
import type { AppContext } from './context.js';
import type { WakeUpOutcome } from './run-wake-up.js';
import { runWakeUp } from './run-wake-up.js';
import { scheduleOrLeave } from './scheduler.js';

export interface WakeUpRequest {
  enrollmentId: string;
  version: number;
  correlationId?: string | undefined;
}

/**
 * Runs a batch of wake-ups in one transaction and schedules what they committed in one go. A
 * batch of one is runWakeUp itself, with its failure counting and quarantine; a batch that
 * throws is for the caller to split (the Batcher tries each wake-up alone), so a wake-up that
 * keeps failing is counted against its own enrollment and no other.
 */
export async function runWakeUps(
  ctx: AppContext,
  requests: readonly WakeUpRequest[],
  now: DateTime,
  o: { maxTries: number; onRetry?: (err: unknown, attempt: number) => void },
): Promise<WakeUpOutcome[]> {
  if (requests.length === 1) {
    const r = requests[0]!;
    return [await runWakeUp(ctx, r.enrollmentId, r.version, now, { ...o, correlationId: r.correlationId })];
  }
  const results = await retryTransient(() => wakeEnrollments(ctx.deps, requests, now), {
    tries: 4,
    ...(o.onRetry ? { onRetry: (err: unknown, attempt: number) => o.onRetry?.(err, attempt) } : {}),
  });
  const after: AfterCommit = emptyAfterCommit();
  results.forEach((r, i) => {
    const tagged = correlated(r.after, requests[i]!.correlationId);
    after.sends.push(...tagged.sends);
    after.wakes.push(...tagged.wakes);
  });
  await scheduleOrLeave(ctx, after, now);
  return results;
}
