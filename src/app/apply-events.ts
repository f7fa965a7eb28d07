import type { DateTime } from 'luxon';
import type { ApplyResult } from '../engine/apply-event.js';
import { applyEvents } from '../engine/apply-event.js';
import { correlated, emptyAfterCommit } from '../engine/engine-deps.js';
import type { NurtureEvent } from '../sequences/event.js';
import type { AppContext } from './context.js';
import { scheduleOrLeave } from './scheduler.js';

export type { ApplyResult };

/**
 * Applies a batch of events in one transaction, then hands the follow-up work to the scheduler.
 * The work is committed in Postgres before it is scheduled, so a scheduler that fails here (Redis
 * away) is logged and left to the sweeper, never an error for the events.
 */
export async function applyEventBatch(ctx: AppContext, events: readonly NurtureEvent[], now: DateTime): Promise<ApplyResult[]> {
  const results = await applyEvents(ctx.deps, events, now);
  const after = emptyAfterCommit();
  // The event's id follows the work it caused into the wake-up and send jobs (their logs' correlationId).
  results.forEach((r, i) => {
    const tagged = correlated(r.after, events[i]?.id);
    after.sends.push(...tagged.sends);
    after.wakes.push(...tagged.wakes);
  });
  await scheduleOrLeave(ctx, after, now);
  return results;
}
