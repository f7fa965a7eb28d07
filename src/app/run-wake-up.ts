import type { DateTime } from 'luxon';
import type { WakeResult } from '../engine/wake-enrollment.js';
import { wakeEnrollment } from '../engine/wake-enrollment.js';
import type { AppContext } from './context.js';

export type { WakeResult };

/** Runs an enrollment whose wait is over, then schedules what that step committed. */
export async function runWakeUp(ctx: AppContext, enrollmentId: string, version: number, now: DateTime): Promise<WakeResult> {
  const r = await wakeEnrollment(ctx.deps, enrollmentId, version, now);
  await ctx.scheduler.schedule(r.after, now);
  return r;
}
