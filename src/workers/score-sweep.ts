import type { DateTime } from 'luxon';
import type { AppContext } from '../app/context.js';
import { sweepScores } from '../app/sweep-scores.js';
import type { Metrics } from '../app/metrics.js';
import { Periodic } from './periodic.js';
import { RoundGuard } from './round-guard.js';
import type { ScoringRules } from '../scoring/rules.js';

/**
 * Runs the decay sweep on a timer (every minute by default) in each process that runs the
 * sweeper. Runs never overlap within a process; across processes, the contact locks keep two
 * sweeps of one contact in turn, and the second finds nothing left to move.
 */
export class ScoreSweep {
  private loop: Periodic | undefined;
  private readonly guard: RoundGuard;

  constructor(
    private readonly ctx: AppContext,
    private readonly rules: ScoringRules,
    private readonly clock: () => DateTime,
    private readonly opts: { intervalMs?: number; metrics?: Metrics | undefined } = {},
  ) {
    this.guard = new RoundGuard({ loop: 'score_sweep', log: ctx.log, metrics: opts.metrics, failed: 'score sweep failed; trying again every minute', recovered: 'the score sweep works again' });
  }

  start(): void {
    const sweep = () =>
      this.guard.run(async () => {
        await sweepScores(this.ctx, this.rules, this.clock());
      });
    const every = this.opts.intervalMs ?? 60_000;
    this.loop = new Periodic(sweep, every, every);
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop?.stop();
  }
}
