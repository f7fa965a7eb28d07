import type { DateTime } from 'luxon';
import type { AppContext } from '../app/context.js';
import { sweepScores } from '../app/sweep-scores.js';
import { Periodic } from './periodic.js';
import type { ScoringRules } from '../scoring/rules.js';

/**
 * Runs the decay sweep on a timer (every minute by default) in each process that runs the
 * sweeper. Runs never overlap within a process; across processes, the contact locks keep two
 * sweeps of one contact in turn, and the second finds nothing left to move.
 */
export class ScoreSweep {
  private loop: Periodic | undefined;

  constructor(
    private readonly ctx: AppContext,
    private readonly rules: ScoringRules,
    private readonly clock: () => DateTime,
    private readonly intervalMs = 60_000,
  ) {}

  start(): void {
    const sweep = () => sweepScores(this.ctx, this.rules, this.clock()).catch((err: unknown) => this.ctx.log.warn({ err }, 'score sweep failed; next run in a minute'));
    this.loop = new Periodic(sweep, this.intervalMs, this.intervalMs);
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop?.stop();
  }
}
