import type { DateTime } from 'luxon';
import type { AppContext } from '../app/context.js';
import { sweepScores } from '../app/sweep-scores.js';
import type { ScoringRules } from '../scoring/rules.js';

/**
 * Runs the decay sweep on a timer (every minute by default) in each process that runs the
 * sweeper. Runs never overlap within a process; across processes, the contact locks keep two
 * sweeps of one contact in turn, and the second finds nothing left to move.
 */
export class ScoreSweep {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly ctx: AppContext,
    private readonly rules: ScoringRules,
    private readonly clock: () => DateTime,
    private readonly intervalMs = 60_000,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = sweepScores(this.ctx, this.rules, this.clock())
        .then(() => undefined)
        .catch((err: unknown) => this.ctx.log.warn({ err }, 'score sweep failed; next run in a minute'))
        .finally(() => (this.running = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
