import { sql } from 'kysely';
import type { FunnelCounts, FunnelStep } from '../../reports/figures.js';
import { funnelSteps } from '../../reports/figures.js';
import { catchUpReportRollupsIfWritable } from '../../db/report-rollup-repository.js';
import type { ReadDb } from '../read-db.js';
import type { ReportFilter } from './opt-in-cohort.js';
import { optInCohort } from './opt-in-cohort.js';

/**
 * `nurture report funnel`: opted in → engaged → MQL → SQL (lead) → customer. A contact counts at
 * a step when a stage change (stage_changes, kind `stage`) took it there or further on after its
 * first opt-in: a contact promoted straight to lead counts as engaged and MQL too, so each step
 * holds at most the contacts of the one before. Split by the opt-in's `data.source` and by
 * sequence (the contacts ever enrolled in it; a contact in two sequences counts in both).
 */

export interface FunnelSlice {
  steps: FunnelStep[];
}

export interface FunnelReport {
  since: string | null;
  source: string | null;
  sequence: string | null;
  asOf: string;
  /**
   * Contacts changed since the rollup was last caught up that this report could not count: 0,
   * except on a connection that cannot write (a replica, a read-only role), where the report
   * reads what the engine's catch-up left.
   */
  uncounted: number;
  total: FunnelSlice;
  bySource: (FunnelSlice & { source: string })[];
  bySequence: (FunnelSlice & { sequence: string })[];
}

interface CountRow {
  key: string | null;
  opted_in: number;
  engaged: number;
  mql: number;
  sql: number;
  customer: number;
}

const COUNTS = sql`count(*)::int as opted_in,
  (count(*) filter (where o.reached >= 1))::int as engaged,
  (count(*) filter (where o.reached >= 2))::int as mql,
  (count(*) filter (where o.reached >= 3))::int as sql,
  (count(*) filter (where o.reached >= 4))::int as customer`;

function countsOf(r: CountRow): FunnelCounts {
  return { optedIn: r.opted_in, engaged: r.engaged, mql: r.mql, sql: r.sql, customer: r.customer };
}

const EMPTY: FunnelCounts = { optedIn: 0, engaged: 0, mql: 0, sql: 0, customer: 0 };

export async function funnelReport(db: ReadDb, f: ReportFilter & { now: Date }): Promise<FunnelReport> {
  const { uncounted } = await catchUpReportRollupsIfWritable(db);
  // grouping(o.source) = 1 marks the total row, which has no source.
  const bySource = await sql<CountRow & { total: number }>`with o as (${optInCohort(f)})
    select o.source as key, grouping(o.source)::int as total, ${COUNTS}
    from o
    group by grouping sets ((), (o.source))
    order by total desc, opted_in desc, key`.execute(db);
  const bySequence = await sql<CountRow>`with o as (${optInCohort(f)})
    select s.sequence_id as key, ${COUNTS}
    from o cross join lateral unnest(o.sequences) as s(sequence_id)
    ${f.sequence !== undefined ? sql`where s.sequence_id = ${f.sequence}` : sql``}
    group by s.sequence_id
    order by opted_in desc, key`.execute(db);
  const totalRow = bySource.rows.find((r) => Number(r.total) === 1);
  return {
    since: f.since ? f.since.toISOString() : null,
    source: f.source ?? null,
    sequence: f.sequence ?? null,
    asOf: f.now.toISOString(),
    uncounted,
    total: { steps: funnelSteps(totalRow ? countsOf(totalRow) : EMPTY) },
    bySource: bySource.rows.filter((r) => Number(r.total) === 0).map((r) => ({ source: r.key!, steps: funnelSteps(countsOf(r)) })),
    bySequence: bySequence.rows.map((r) => ({ sequence: r.key!, steps: funnelSteps(countsOf(r)) })),
  };
}
