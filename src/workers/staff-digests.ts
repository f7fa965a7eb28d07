import type { DateTime } from 'luxon';
import type { AppContext } from '../app/context.js';
import type { Metrics } from '../app/metrics.js';
import { sendDigests } from '../app/send-digests.js';
import type { MailSender } from '../templates/mail-sender.js';
import { Periodic } from './periodic.js';
import { RoundGuard } from './round-guard.js';

/** How often to look whose working day has started: a digest goes out within this of its time. */
export const DIGEST_CHECK_MS = 30_000;

/**
 * Sends the staff's daily digests on a timer, in every process that sweeps (when a team
 * directory is configured). Rounds never overlap; staff_digests makes two processes' rounds safe.
 */
export class StaffDigests {
  private loop: Periodic | undefined;
  private readonly guard: RoundGuard;

  constructor(
    private readonly ctx: AppContext,
    private readonly mail: MailSender,
    private readonly opts: { intervalMs?: number; clock: () => DateTime; metrics?: Metrics | undefined },
  ) {
    this.guard = new RoundGuard({ loop: 'staff_digests', log: ctx.log, metrics: opts.metrics, failed: 'could not send staff digests; trying again', recovered: 'staff digests work again' });
  }

  start(): void {
    this.loop = new Periodic(() => this.round(), this.opts.intervalMs ?? DIGEST_CHECK_MS);
    this.loop.start();
  }

  private async round(): Promise<void> {
    await this.guard.run(async () => {
      await sendDigests(this.ctx, this.mail, this.opts.clock());
    });
  }

  async stop(): Promise<void> {
    await this.loop?.stop();
  }
}
