import { sql } from 'kysely';
import type { RawBuilder } from 'kysely';

/**
 * Which opted-in contacts a report is about, as one SQL fragment every report starts from: each
 * contact's first `opt_in` event (its time and `data.source`), the furthest stage it reached after
 * it (stage_changes), its first stage change to lead and first conversation; optionally only those
 * who first opted in since an instant, from one source, or who were ever enrolled in one sequence.
 */
export interface ReportFilter {
  since?: Date | undefined;
  source?: string | undefined;
  sequence?: string | undefined;
  /** The IANA zone whose weeks the weekly cohorts are (checked by the caller); UTC when not given. */
  zone?: string | undefined;
}

/** What a contact whose opt-in named no source is counted under. */
export const NO_SOURCE = '(none)';

/**
 * `o(contact_id, opted_in_at, source, reached, lead_at, conversation_at, sequences)`: the body of
 * a CTE, for `with o as (${optInCohort(f)})`. Read from the `report_contacts` rollup (migration
 * 2026-12-02T160500-report-rollups), one narrow row per opted-in contact. A report catches the
 * rollup up first (catchUpReportRollups): its writers only name the contacts to recompute
 * (migration 2026-12-04T120000), so what was committed before the report began is in it.
 */
export function optInCohort(f: ReportFilter): RawBuilder<unknown> {
  const conditions = [sql`true`];
  if (f.since) conditions.push(sql`r.opted_in_at >= ${f.since}`);
  if (f.source !== undefined) conditions.push(sql`r.source = ${f.source}`);
  if (f.sequence !== undefined) conditions.push(sql`r.sequences @> array[${f.sequence}]::text[]`);
  return sql`select r.contact_id, r.opted_in_at, r.source, r.reached, r.lead_at, r.conversation_at, r.sequences
    from report_contacts r where ${sql.join(conditions, sql` and `)}`;
}
