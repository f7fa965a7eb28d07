import type { AppContext } from '../app/context.js';
import { catchUpReports } from '../app/catch-up-reports.js';
import type { Metrics } from '../app/metrics.js';
import type { Logger } from '../logger.js';
import { Periodic } from './periodic.js';
import { RoundGuard } from './round-guard.js';

/**
 * Keeps the report rollups caught up (every 5 s by default) in each process that sweeps. Rounds
 * of several processes take turns under the catch-up's own advisory lock; a round that fails
 * leaves the contacts named, for the next round or the next report.
 */
export class ReportCatchUp {
  private loop: Periodic | undefined;
  private readonly guard: RoundGuard;

  constructor(
    private readonly ctx: Pick<AppContext, 'deps'>,
    private readonly opts: { log: Logger; intervalMs?: number; metrics?: Metrics | undefined },
  ) {
    this.guard = new RoundGuard({
      loop: 'report_rollups',
      log: opts.log,
      metrics: opts.metrics,
      failed: 'could not bring the report rollups up to date; reports catch up themselves, and the engine tries again every few seconds',
      recovered: 'the report rollups are kept up to date again',
    });
  }

  start(): void {
    const every = this.opts.intervalMs ?? 5_000;
    this.loop = new Periodic(() => this.guard.run(async () => void (await catchUpReports(this.ctx))), every, every);
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop?.stop();
  }
}
