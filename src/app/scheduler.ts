import type { DateTime } from 'luxon';
import type { AfterCommit } from '../engine/commit-advance.js';

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

/** For processes that hold no queue (short CLI commands): the running engine's sweeper queues the work. */
export const sweeperScheduler: Scheduler = {
  describe: 'the running engine queues follow-up work within seconds',
  async schedule() {},
};
