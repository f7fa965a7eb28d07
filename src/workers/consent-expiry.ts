import type { DateTime } from 'luxon';
import type { AppContext } from '../app/context.js';
import { expirePendingOptIns } from '../app/expire-opt-ins.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../app/metrics.js';
import { Periodic } from './periodic.js';
import { RoundGuard } from './round-guard.js';

/**
 * Expires double opt-ins left unconfirmed, on a timer, in every process that sweeps. Each row is
 * expired by one UPDATE (rows locked by another process are skipped), so two processes never
 * record the same expiry twice. A failed round (database away) is counted, logged once, and tried next time.
 */
export class ConsentExpiry {
  private loop: Periodic | undefined;
  private readonly guard: RoundGuard;

  constructor(
    private readonly ctx: Pick<AppContext, 'deps'>,
    private readonly opts: { intervalMs: number; log: Logger; clock: () => DateTime; metrics?: Metrics | undefined },
  ) {
    this.guard = new RoundGuard({ loop: 'consent_expiry', log: opts.log, metrics: opts.metrics, failed: 'could not expire unconfirmed opt-ins; trying again', recovered: 'expiring unconfirmed opt-ins works again' });
  }

  start(): void {
    this.loop = new Periodic(() => this.round(), this.opts.intervalMs, this.opts.intervalMs);
    this.loop.start();
  }

  private async round(): Promise<void> {
    await this.guard.run(async () => {
      const n = await expirePendingOptIns(this.ctx, this.opts.clock());
      if (n > 0) this.opts.log.info({ expired: n }, 'double opt-ins expired unconfirmed');
    });
  }

  async stop(): Promise<void> {
    await this.loop?.stop();
  }
}
