import type { DateTime } from 'luxon';
import type { AfterCommit } from '../engine/engine-deps.js';
import type { Logger } from '../logger.js';

/**
 * Where a use case hands the follow-up work it committed (emails to send, wake-ups due soon).
 * Postgres already holds that work when this is called, so a scheduler that cannot reach its
 * queue loses nothing: the sweeper offers everything due from Postgres within seconds.
 */
export interface Scheduler {
  schedule(after: AfterCommit, now: DateTime): Promise<void>;
  /** For a command's output: how the work reaches the workers. */
  readonly describe: string;
}

export const SWEEPER_NOTE = 'the running engine (nurture start) queues the follow-up work from the database within seconds';

/** For processes that hold no queue (short CLI commands): the running engine's sweeper queues the work. */
export const sweeperScheduler: Scheduler = {
  describe: SWEEPER_NOTE,
  async schedule() {},
};

/**
 * Schedules committed work; a scheduler that fails (Redis away) is logged and the work left to
 * the sweeper, which finds it in Postgres: the use case already succeeded.
 */
export async function scheduleOrLeave(ctx: { scheduler: Scheduler; log: Logger }, after: AfterCommit, now: DateTime): Promise<void> {
  await ctx.scheduler.schedule(after, now).catch((err: Error) => ctx.log.warn({ err: err.message }, 'could not queue follow-up work; the sweeper will'));
}

/** Whether there is follow-up work at all, for a command's output. */
export function hasWork(after: AfterCommit): boolean {
  return after.sends.length > 0 || after.wakes.length > 0;
}
