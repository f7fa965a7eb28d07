import type { DateTime } from 'luxon';
import type { AppContext } from '../app/context.js';
import { expirePendingOptIns } from '../app/expire-opt-ins.js';
import type { Logger } from '../logger.js';
import { Periodic } from './periodic.js';

/**
 * Expires double opt-ins left unconfirmed, on a timer, in every process that sweeps. Each row is
 * expired by one UPDATE (rows locked by another process are skipped), so two processes never
 * record the same expiry twice. A failed round (database away) is logged and tried next time.
 */
export class ConsentExpiry {
  private loop: Periodic | undefined;
  private failing = false;

  constructor(
    private readonly ctx: Pick<AppContext, 'deps'>,
    private readonly opts: { intervalMs: number; log: Logger; clock: () => DateTime },
  ) {}

  start(): void {
    this.loop = new Periodic(() => this.round(), this.opts.intervalMs, this.opts.intervalMs);
    this.loop.start();
  }

  private async round(): Promise<void> {
    try {
      const n = await expirePendingOptIns(this.ctx, this.opts.clock());
      if (n > 0) this.opts.log.info({ expired: n }, 'double opt-ins expired unconfirmed');
      if (this.failing) this.opts.log.info('expiring unconfirmed opt-ins works again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.opts.log.warn({ err: (err as Error).message }, 'could not expire unconfirmed opt-ins; trying again');
      this.failing = true;
    }
  }

  async stop(): Promise<void> {
    await this.loop?.stop();
  }
}
