import type { Metrics } from '../app/metrics.js';
import type { DateTime } from 'luxon';
import type { AppContext } from '../app/context.js';
import { maintainPartitions } from '../app/maintain-partitions.js';
import { PARTITIONED_TABLES } from '../app/partition-plan.js';
import type { PartitionedTable } from '../app/partition-plan.js';
import type { Logger } from '../logger.js';
import { Periodic } from './periodic.js';
import { RoundGuard } from './round-guard.js';

/** How each table is named in the log, and the setting that bounds it. */
const TABLES: Record<PartitionedTable, { noun: string; setting: string }> = {
  events: { noun: 'event', setting: 'NURTURE_EVENTS_RETENTION' },
  touches: { noun: 'touch', setting: 'NURTURE_TOUCHES_RETENTION' },
};

/**
 * Creates upcoming monthly partitions of `events` and `touches` and drops those past their
 * retention, once at start and then every hour, in each process that sweeps (an advisory lock
 * keeps two processes' rounds apart). Months are created three ahead, so an hour's delay costs
 * nothing.
 */
export class PartitionMaintenance {
  private loop: Periodic | undefined;
  private readonly guard: RoundGuard;
  /** The held partitions last logged, per table: the warning is written when the set changes, not every hour. */
  private readonly heldLogged = new Map<PartitionedTable, string>();

  constructor(
    private readonly ctx: Pick<AppContext, 'deps'>,
    private readonly opts: {
      retentionMonths: Record<PartitionedTable, number | undefined>;
      log: Logger;
      clock: () => DateTime;
      intervalMs?: number;
      metrics?: Metrics | undefined;
    },
  ) {
    this.guard = new RoundGuard({
      loop: 'partitions',
      log: opts.log,
      metrics: opts.metrics,
      failed: 'could not maintain the monthly partitions; trying again in an hour',
      recovered: 'partition maintenance works again',
    });
  }

  start(): void {
    this.loop = new Periodic(() => this.round(), this.opts.intervalMs ?? 3_600_000);
    this.loop.start();
  }

  private async round(): Promise<void> {
    await this.guard.run(async () => {
      for (const table of PARTITIONED_TABLES) {
        const { noun, setting } = TABLES[table];
        const r = await maintainPartitions(this.ctx, table, this.opts.clock(), { retentionMonths: this.opts.retentionMonths[table] });
        if (r.created.length > 0) this.opts.log.info({ months: r.created }, `${noun} partitions created`);
        if (r.dropped.length > 0) this.opts.log.info({ partitions: r.dropped }, `${noun} partitions dropped: older than ${setting}`);
        const held = r.held.join(', ');
        if (held !== '' && held !== this.heldLogged.get(table)) this.opts.log.warn({ partitions: r.held }, `${noun} partitions older than ${setting} kept: they hold unsent email or open tasks (see nurture touches and nurture tasks); dropped once those are done`);
        this.heldLogged.set(table, held);
        if (r.defaultRows) this.opts.log.warn(`rows sit in the default partition ${table}_default (a month with no partition of its own): they move when that month's partition is created`);
      }
    });
  }

  async stop(): Promise<void> {
    await this.loop?.stop();
  }
}
