import type { Metrics } from '../app/metrics.js';
import type { DateTime } from 'luxon';
import type { AppContext } from '../app/context.js';
import { maintainEventPartitions } from '../app/maintain-event-partitions.js';
import type { Logger } from '../logger.js';
import { Periodic } from './periodic.js';
import { RoundGuard } from './round-guard.js';

/**
 * Creates upcoming monthly partitions of `events` and drops those past NURTURE_EVENTS_RETENTION,
 * once at start and then every hour, in each process that sweeps (an advisory lock keeps two
 * processes' rounds apart). Months are created three ahead, so an hour's delay costs nothing.
 */
export class PartitionMaintenance {
  private loop: Periodic | undefined;
  private readonly guard: RoundGuard;

  constructor(
    private readonly ctx: Pick<AppContext, 'deps'>,
    private readonly opts: { retentionMonths: number | undefined; log: Logger; clock: () => DateTime; intervalMs?: number; metrics?: Metrics | undefined },
  ) {
    this.guard = new RoundGuard({
      loop: 'event_partitions',
      log: opts.log,
      metrics: opts.metrics,
      failed: 'could not maintain the event partitions; trying again in an hour',
      recovered: 'event partition maintenance works again',
    });
  }

  start(): void {
    this.loop = new Periodic(() => this.round(), this.opts.intervalMs ?? 3_600_000);
    this.loop.start();
  }

  private async round(): Promise<void> {
    await this.guard.run(async () => {
      const r = await maintainEventPartitions(this.ctx, this.opts.clock(), { retentionMonths: this.opts.retentionMonths });
      if (r.created.length > 0) this.opts.log.info({ months: r.created }, 'event partitions created');
      if (r.dropped.length > 0) this.opts.log.info({ partitions: r.dropped }, 'event partitions dropped: older than NURTURE_EVENTS_RETENTION');
      if (r.defaultRows) this.opts.log.warn('events sit in the default partition events_default (a month with no partition of its own): they move when that month\'s partition is created');
    });
  }

  async stop(): Promise<void> {
    await this.loop?.stop();
  }
}
