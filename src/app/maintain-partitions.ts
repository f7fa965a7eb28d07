import type { DateTime } from 'luxon';
import { applyPartitionChanges } from '../db/event-partition-repository.js';
import type { AppContext } from './context.js';
import { partitionPlan } from './event-partition-plan.js';

/** Months ahead of the current one kept created, so a late maintenance round never lets rows fall into the default partition. */
export const PARTITIONS_AHEAD = 3;

export interface PartitionMaintenance {
  /** First days of the months whose partitions were created. */
  created: string[];
  /** Partitions dropped for being older than the retention. */
  dropped: string[];
  /** Rows sit in events_default (months with no partition): they are moved out when their month's partition is created. */
  defaultRows: boolean;
}

/**
 * Keeps the monthly partitions of `events`: creates the current and next months' partitions,
 * and with a retention drops whole months older than it (their events go; `event_ids`, the
 * rollups and everything else stay: see README, "Partitioning and retention").
 */
export async function maintainEventPartitions(
  ctx: Pick<AppContext, 'deps'>,
  now: DateTime,
  o: { retentionMonths: number | undefined; ahead?: number },
): Promise<PartitionMaintenance> {
  return applyPartitionChanges(ctx.deps.db, (existing) => partitionPlan(now, existing, { ahead: o.ahead ?? PARTITIONS_AHEAD, retentionMonths: o.retentionMonths }));
}
