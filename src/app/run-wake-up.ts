import type { DateTime } from 'luxon';
import { recordWakeFailure } from '../db/enrollment-repository.js';
import { isTransientDbError, retryTransient } from '../db/transient.js';
import type { AfterCommit } from '../engine/engine-deps.js';
import { correlated, emptyAfterCommit } from '../engine/engine-deps.js';
import type { WakeResult } from '../engine/wake-enrollment.js';
import { wakeEnrollment } from '../engine/wake-enrollment.js';
import type { AppContext } from './context.js';
import { scheduleOrLeave } from './scheduler.js';

export type WakeUpOutcome =
  | WakeResult
  /**
   * The wake-up threw (a template that does not render, a version that cannot be loaded, a bug).
   * The try is counted on the enrollment; at `maxTries` it is quarantined: the sweeper stops
   * offering it and `nurture enrollments stuck` lists it until `nurture enrollments retry`.
   */
  | { status: 'failed'; error: string; failures: number; quarantined: boolean; after: AfterCommit };

const MAX_ERROR_CHARS = 2_000;

function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS)}…` : text;
}

/**
 * Runs one wake-up. Its transaction is tried again while the database is away for a moment
 * (restart, failover, deadlock); if it still is, the error is thrown for the job to retry later,
 * and is not counted against the enrollment: an outage is nobody's fault and shows in the logs.
 * Any other failure is counted and returned. What a successful wake-up committed is scheduled.
 */
export async function runWakeUp(
  ctx: AppContext,
  enrollmentId: string,
  version: number,
  now: DateTime,
  o: { maxTries: number; onRetry?: (err: unknown, attempt: number) => void; correlationId?: string | undefined },
): Promise<WakeUpOutcome> {
  const { deps } = ctx;
  let r: WakeResult;
  try {
    r = await retryTransient(() => wakeEnrollment(deps, enrollmentId, version, now), {
      tries: 4,
      ...(o.onRetry ? { onRetry: (err: unknown, attempt: number) => o.onRetry?.(err, attempt) } : {}),
    });
  } catch (err) {
    if (isTransientDbError(err)) throw err;
    const error = errorText(err);
    const counted = await recordWakeFailure(deps.db, enrollmentId, version, error, now.toJSDate(), o.maxTries);
    // The enrollment moved on while this try ran (an event advanced or ended it): nothing to count.
    if (!counted) return { status: 'stale', after: emptyAfterCommit() };
    return { status: 'failed', error, failures: counted.failures, quarantined: counted.quarantinedAt !== null, after: emptyAfterCommit() };
  }
  await scheduleOrLeave(ctx, correlated(r.after, o.correlationId), now);
  return r;
}
