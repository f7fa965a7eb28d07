import { DateTime } from 'luxon';

/**
 * What the monthly partitions of `events` or `touches` should be at `now`: the current month and
 * the next `ahead` months exist (so the default partition stays empty), and with a retention of
 * N months every partition that ended before the start of the month N months back goes. Pure:
 * the partitions that exist and the clock are given.
 */

/** The tables partitioned by month (migrations 2026-12-03T140000 and 2026-12-04T090000). */
export const PARTITIONED_TABLES = ['events', 'touches'] as const;
export type PartitionedTable = (typeof PARTITIONED_TABLES)[number];

/** A partition's name for the month starting at `month` (UTC): events_y2026m12, touches_y2026m12. */
export function partitionName(table: PartitionedTable, month: DateTime): string {
  return `${table}_y${month.toUTC().toFormat('yyyy')}m${month.toUTC().toFormat('MM')}`;
}

const NAME = /^(events|touches)_y(\d{4})m(\d{2})$/;

/** The month (first instant, UTC) a partition name of `table` stands for; undefined for any other name (the default partition, one an operator made, another table's). */
export function monthOfPartition(table: PartitionedTable, name: string): DateTime | undefined {
  const m = NAME.exec(name);
  if (!m || m[1] !== table) return undefined;
  const month = DateTime.fromObject({ year: Number(m[2]), month: Number(m[3]), day: 1 }, { zone: 'utc' });
  return month.isValid ? month : undefined;
}

export interface PartitionPlan {
  /** First days of the months to create, as YYYY-MM-DD, oldest first. */
  create: string[];
  /** Partitions to drop (their rows are older than the retention), oldest first. */
  drop: string[];
}

export function partitionPlan(table: PartitionedTable, now: DateTime, existing: readonly string[], o: { ahead: number; retentionMonths: number | undefined }): PartitionPlan {
  const current = now.toUTC().startOf('month');
  const have = new Set(existing);
  const create: string[] = [];
  for (let i = 0; i <= o.ahead; i++) {
    const month = current.plus({ months: i });
    if (!have.has(partitionName(table, month))) create.push(month.toISODate()!);
  }
  const drop: string[] = [];
  if (o.retentionMonths !== undefined) {
    // Kept: the current month and the `retentionMonths` whole months before it.
    const keepFrom = current.minus({ months: Math.max(1, o.retentionMonths) });
    const old = existing.flatMap((name) => {
      const month = monthOfPartition(table, name);
      return month && month < keepFrom ? [{ name, month }] : [];
    });
    drop.push(...old.sort((a, b) => a.month.toMillis() - b.month.toMillis()).map((p) => p.name));
  }
  return { create, drop };
}

/**
 * NURTURE_EVENTS_RETENTION and NURTURE_TOUCHES_RETENTION: "forever" (the default) or a whole number of months or years
 * ("18 months", "2 years"). undefined: keep forever; otherwise the number of months.
 */
export function parseRetention(text: string): { ok: true; months: number | undefined } | { ok: false; error: string } {
  const s = text.trim().toLowerCase();
  if (s === 'forever') return { ok: true, months: undefined };
  const m = /^(\d+)\s*(months?|years?)$/.exec(s);
  if (!m) return { ok: false, error: `"${text}" is not a retention: write "forever" or a number of months or years, e.g. "18 months" or "2 years"` };
  const months = Number(m[1]) * (m[2]!.startsWith('year') ? 12 : 1);
  if (months < 1) return { ok: false, error: `"${text}" keeps nothing: the retention must be at least 1 month (or "forever")` };
  return { ok: true, months };
}
