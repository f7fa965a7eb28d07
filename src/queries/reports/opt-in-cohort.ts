import { sql } from 'kysely';
import type { RawBuilder } from 'kysely';

/**
 * Which opted-in contacts a report is about, as one SQL fragment every report starts from: each
 * contact's first `opt_in` event (its time and `data.source`), optionally only those who first
 * opted in since an instant, from one source, or who were ever enrolled in one sequence.
 */
export interface ReportFilter {
  since?: Date | undefined;
  source?: string | undefined;
  sequence?: string | undefined;
}

/** What a contact whose opt-in named no source is counted under. */
export const NO_SOURCE = '(none)';

/** `o(contact_id, opted_in_at, source)`: the body of a CTE, for `with o as (${optInCohort(f)})`. */
export function optInCohort(f: ReportFilter): RawBuilder<unknown> {
  const conditions = [sql`true`];
  if (f.since) conditions.push(sql`f.opted_in_at >= ${f.since}`);
  if (f.source !== undefined) conditions.push(sql`f.source = ${f.source}`);
  if (f.sequence !== undefined) conditions.push(sql`exists (select 1 from enrollments en where en.contact_id = f.contact_id and en.sequence_id = ${f.sequence})`);
  // Served by events_type_contact_id_occurred_at_idx: one index range, already in contact order.
  return sql`
    select f.contact_id, f.opted_in_at, f.source from (
      select distinct on (e.contact_id) e.contact_id, e.occurred_at as opted_in_at,
             coalesce(nullif(e.data->>'source', ''), ${NO_SOURCE}) as source
      from events e where e.type = 'opt_in'
      order by e.contact_id, e.occurred_at, e.seq
    ) f where ${sql.join(conditions, sql` and `)}`;
}

/** Stage ranks along the funnel; `disqualified` is off it (a disqualified MQL still reached MQL). */
export const STAGE_RANK = sql`case sc.to_stage when 'engaged' then 1 when 'mql' then 2 when 'lead' then 3 when 'customer' then 4 else 0 end`;
