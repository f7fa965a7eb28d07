import type { BackgroundLoop, Metrics } from '../app/metrics.js';
import type { Logger } from '../logger.js';

/**
 * What a background loop does with a failed round: counts every one in
 * nurture_background_failures_total{loop}, and logs the first failure of a run and the round that
 * works again, once each, so a database away for a day is two lines in the log, not thousands.
 */
export class RoundGuard {
  private failing = false;

  constructor(
    private readonly o: {
      loop: BackgroundLoop;
      log: Logger;
      metrics?: Metrics | undefined;
      /** Logged (warn) on the first failed round. */
      failed: string;
      /** Logged (info) on the first round that works after failures. */
      recovered: string;
    },
  ) {}

  async run(round: () => Promise<void>): Promise<void> {
    try {
      await round();
      if (this.failing) this.o.log.info(this.o.recovered);
      this.failing = false;
    } catch (err) {
      this.o.metrics?.backgroundFailure?.(this.o.loop);
      if (!this.failing) this.o.log.warn({ err: (err as Error)?.message ?? String(err) }, this.o.failed);
      this.failing = true;
    }
  }
}
