import type { DateTime } from 'luxon';
import type { AppContext } from '../app/context.js';
import { expirePendingOptIns } from '../app/expire-opt-ins.js';
import type { Logger } from '../logger.js';

/**
 * Expires double opt-ins left unconfirmed, on a timer, in every process that sweeps. Each row is
 * expired by one UPDATE (rows locked by another process are skipped), so two processes never
 * record the same expiry twice. A failed round (database away) is logged and tried next time.
 */
export class ConsentExpiry {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private failing = false;

  constructor(
    private readonly ctx: Pick<AppContext, 'deps'>,
    private readonly opts: { intervalMs: number; log: Logger; clock: () => DateTime },
  ) {}

  start(): void {
    const tick = () => {
      this.running = this.round().finally(() => {
        this.running = undefined;
        if (this.timer !== undefined) this.timer = setTimeout(tick, this.opts.intervalMs);
      });
    };
    this.timer = setTimeout(tick, this.opts.intervalMs);
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
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
