import type { DateTime } from 'luxon';
import { applyPartitionChanges } from '../db/partition-repository.js';
import type { PartitionChanges } from '../db/partition-repository.js';
import type { AppContext } from './context.js';
import { partitionPlan } from './partition-plan.js';
import type { PartitionedTable } from './partition-plan.js';

/** Months ahead of the current one kept created, so a late maintenance round never lets rows fall into the default partition. */
export const PARTITIONS_AHEAD = 3;

/**
 * What a round changed: `created` (first days of months), `dropped` (partitions older than the
 * retention), `held` (touch partitions past the retention that still hold unsent email or open
 * tasks, kept for a later round), `defaultRows` (rows sit in the default partition, a month with
 * no partition of its own: they move when that month's partition is created).
 */
export type PartitionMaintenance = PartitionChanges;

/**
 * Keeps the monthly partitions of `events` or `touches`: creates the current and next months'
 * partitions, and with a retention drops whole months older than it (see README, "Partitioning
 * and retention", for what goes and what stays).
 */
export async function maintainPartitions(
  ctx: Pick<AppContext, 'deps'>,
  table: PartitionedTable,
  now: DateTime,
  o: { retentionMonths: number | undefined; ahead?: number },
): Promise<PartitionMaintenance> {
  return applyPartitionChanges(ctx.deps.db, table, (existing) =>
    partitionPlan(table, now, existing, { ahead: o.ahead ?? PARTITIONS_AHEAD, retentionMonths: o.retentionMonths }),
  );
}
