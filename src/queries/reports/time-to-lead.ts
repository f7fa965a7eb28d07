import { sql } from 'kysely';
import type { Cohort, Journey, TimeToFigures } from '../../reports/figures.js';
import { cohorts, timeTo } from '../../reports/figures.js';
import { catchUpReportRollupsIfWritable } from '../../db/report-rollup-repository.js';
import { sqlDataError } from '../../db/sql-state.js';
import { InputError } from '../../errors.js';
import type { ReadDb } from '../read-db.js';
import type { ReportFilter } from './opt-in-cohort.js';
import { optInCohort } from './opt-in-cohort.js';

/**
 * `nurture report time-to-lead`: from a contact's first opt-in to its first stage change to lead
 * (or beyond), and to its first conversation with staff: a call task completed with a
 * conversation outcome, or an `appointment_requested` event (the person asked to talk). Median,
 * mean, p90 and the distribution in buckets, and the same by weekly opt-in cohort.
 */

/** Call outcomes that mean someone talked with the contact (compared trimmed, case-insensitively); the report_contacts trigger (migration 2026-12-02T160500-report-rollups) holds the same list. */
export const CONVERSATION_OUTCOMES = ['connected', 'appointment_booked'] as const;

export interface TimeToLeadReport {
  since: string | null;
  source: string | null;
  sequence: string | null;
  /** The zone whose weeks (from Monday) the cohorts are. */
  zone: string;
  asOf: string;
  /**
   * Contacts changed since the rollup was last caught up that this report could not count: 0,
   * except on a connection that cannot write (a replica, a read-only role), where the report
   * reads what the engine's catch-up left.
   */
  uncounted: number;
  optedIn: number;
  toLead: TimeToFigures;
  toConversation: TimeToFigures;
  cohorts: Cohort[];
}

/**
 * Runs `read`, turning the database's refusal of a zone name into an input error: the name
 * passed the IANA check against Node's zone data, which may know names the database does not
 * (US/Pacific-New, or a zone newer than its tzdata).
 */
async function inZone<T>(zone: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    const refused = sqlDataError(err);
    // The zone's name, not the words around it: the server may answer in another language.
    if (refused?.code === '22023' && refused.message.includes(`"${zone}"`)) {
      throw new InputError(`zone: the database does not know the time zone "${zone}" (${refused.message}); use another name for it or update the database's time zone data`);
    }
    throw err;
  }
}

export async function timeToLeadReport(db: ReadDb, f: ReportFilter & { now: Date }): Promise<TimeToLeadReport> {
  const { uncounted } = await catchUpReportRollupsIfWritable(db);
  const zone = f.zone ?? 'UTC';
  // Weeks from Monday in the report's zone, worked out once, by the database, for both queries.
  const week = sql<string>`to_char(date_trunc('week', o.opted_in_at at time zone ${zone}), 'YYYY-MM-DD')`;
  // One snapshot for both: a catch-up between them could move a contact's first opt-in.
  const [journeys, weeks] = await inZone(zone, () =>
    db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (tx) => [
        await sql<{ opted_in_at: Date; week: string; lead_at: Date | null; conversation_at: Date | null }>`
          with o as (${optInCohort(f)})
          select o.opted_in_at, ${week} as week, o.lead_at, o.conversation_at from o
          where o.lead_at is not null or o.conversation_at is not null`.execute(tx),
        await sql<{ week: string; opted_in: number }>`
          with o as (${optInCohort(f)})
          select ${week} as week, count(*)::int as opted_in
          from o group by 1 order by 1`.execute(tx),
      ]),
  );
  const list: Journey[] = journeys.rows.map((r) => ({ optedInAt: new Date(r.opted_in_at), week: r.week, leadAt: r.lead_at && new Date(r.lead_at), conversationAt: r.conversation_at && new Date(r.conversation_at) }));
  const optInsByWeek = weeks.rows.map((r) => ({ week: r.week, optedIn: Number(r.opted_in) }));
  return {
    since: f.since ? f.since.toISOString() : null,
    source: f.source ?? null,
    sequence: f.sequence ?? null,
    zone,
    asOf: f.now.toISOString(),
    uncounted,
    optedIn: optInsByWeek.reduce((n, w) => n + w.optedIn, 0),
    toLead: timeTo(list, (j) => j.leadAt),
    toConversation: timeTo(list, (j) => j.conversationAt),
    cohorts: cohorts(optInsByWeek, list),
  };
}
