import { sql } from 'kysely';
import type { FunnelCounts, FunnelStep } from '../../reports/figures.js';
import { funnelSteps } from '../../reports/figures.js';
import type { ReadDb } from '../read-db.js';
import type { ReportFilter } from './opt-in-cohort.js';
import { STAGE_RANK, optInCohort } from './opt-in-cohort.js';

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
  (count(*) filter (where r.reached >= 1))::int as engaged,
  (count(*) filter (where r.reached >= 2))::int as mql,
  (count(*) filter (where r.reached >= 3))::int as sql,
  (count(*) filter (where r.reached >= 4))::int as customer`;

function reached(f: ReportFilter) {
  return sql`with o as (${optInCohort(f)}),
    r as (
      select o.contact_id, max(${STAGE_RANK}) as reached
      from o join stage_changes sc on sc.contact_id = o.contact_id and sc.kind = 'stage' and sc.at >= o.opted_in_at
      group by o.contact_id
    )`;
}

function countsOf(r: CountRow): FunnelCounts {
  return { optedIn: r.opted_in, engaged: r.engaged, mql: r.mql, sql: r.sql, customer: r.customer };
}

const EMPTY: FunnelCounts = { optedIn: 0, engaged: 0, mql: 0, sql: 0, customer: 0 };

export async function funnelReport(db: ReadDb, f: ReportFilter & { now: Date }): Promise<FunnelReport> {
  // grouping(o.source) = 1 marks the total row, which has no source.
  const bySource = await sql<CountRow & { total: number }>`${reached(f)}
    select o.source as key, grouping(o.source)::int as total, ${COUNTS}
    from o left join r on r.contact_id = o.contact_id
    group by grouping sets ((), (o.source))
    order by total desc, opted_in desc, key`.execute(db);
  const bySequence = await sql<CountRow>`${reached(f)}
    select en.sequence_id as key, ${COUNTS}
    from (select distinct contact_id, sequence_id from enrollments) en
    join o on o.contact_id = en.contact_id
    left join r on r.contact_id = o.contact_id
    ${f.sequence !== undefined ? sql`where en.sequence_id = ${f.sequence}` : sql``}
    group by en.sequence_id
    order by opted_in desc, key`.execute(db);
  const totalRow = bySource.rows.find((r) => Number(r.total) === 1);
  return {
    since: f.since ? f.since.toISOString() : null,
    source: f.source ?? null,
    sequence: f.sequence ?? null,
    asOf: f.now.toISOString(),
    total: { steps: funnelSteps(totalRow ? countsOf(totalRow) : EMPTY) },
    bySource: bySource.rows.filter((r) => Number(r.total) === 0).map((r) => ({ source: r.key!, steps: funnelSteps(countsOf(r)) })),
    bySequence: bySequence.rows.map((r) => ({ sequence: r.key!, steps: funnelSteps(countsOf(r)) })),
  };
}
