import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

/**
 * What keeps failing and waits for an operator (`nurture enrollments stuck`): enrollments whose
 * wake-up was quarantined after its tries, and emails that gave up (touch status `failed`: the
 * mail server refused them for good, their template does not render, or every send attempt
 * failed). Nothing here is retried by itself.
 */

export interface StuckWakeUp {
  kind: 'wake-up';
  enrollmentId: string;
  email: string;
  sequenceId: string;
  stepId: string | null;
  tries: number;
  lastError: string | null;
  /** When it was quarantined (ISO). */
  since: string;
}

export interface StuckSend {
  kind: 'send';
  touchId: string;
  enrollmentId: string | null;
  email: string;
  sequenceId: string | null;
  stepId: string;
  template: string | null;
  tries: number;
  lastError: string | null;
  /** When it gave up (ISO; its creation for emails that failed before failed_at was recorded). */
  since: string;
}

export interface StuckReport {
  wakeUps: StuckWakeUp[];
  sends: StuckSend[];
  /** Totals, which the lists may not show in full (see `limit`). */
  counts: StuckCounts;
}

export interface StuckCounts {
  /** Enrollments quarantined (the figure for `nurture stats`). */
  enrollments: number;
  /** Emails that gave up. */
  sends: number;
}

/** How many enrollments are quarantined and how many emails gave up. Cheap: both are indexed or small. */
export async function countStuck(db: Kysely<Database>): Promise<StuckCounts> {
  const e = await db
    .selectFrom('enrollments')
    .select(sql<number>`count(*)::int`.as('n'))
    .where('quarantined_at', 'is not', null)
    .where('status', '=', 'active')
    .executeTakeFirstOrThrow();
  const t = await db
    .selectFrom('touches')
    .select(sql<number>`count(*)::int`.as('n'))
    .where('kind', '=', 'email')
    .where('status', '=', 'failed')
    .executeTakeFirstOrThrow();
  return { enrollments: Number(e.n), sends: Number(t.n) };
}

/** Quarantined enrollments and emails that gave up, oldest first, at most `limit` of each. */
export async function stuckEnrollments(db: Kysely<Database>, o: { limit: number }): Promise<StuckReport> {
  const wakeRows = await db
    .selectFrom('enrollments as e')
    .innerJoin('contacts as c', 'c.id', 'e.contact_id')
    .select(['e.id', 'c.email', 'e.sequence_id', 'e.step_id', 'e.failures', 'e.last_error', 'e.quarantined_at'])
    .where('e.quarantined_at', 'is not', null)
    .where('e.status', '=', 'active')
    .orderBy('e.quarantined_at')
    .orderBy('e.id')
    .limit(o.limit)
    .execute();
  const sendRows = await db
    .selectFrom('touches as t')
    .innerJoin('contacts as c', 'c.id', 't.contact_id')
    .select(['t.id', 't.enrollment_id', 'c.email', 't.sequence_id', 't.step_id', 't.template', 't.attempts', 't.error', 't.failed_at', 't.created_at'])
    .where('t.kind', '=', 'email')
    .where('t.status', '=', 'failed')
    .orderBy(sql`coalesce(t.failed_at, t.created_at)`)
    .orderBy('t.id')
    .limit(o.limit)
    .execute();
  return {
    wakeUps: wakeRows.map((r) => ({
      kind: 'wake-up',
      enrollmentId: r.id,
      email: r.email,
      sequenceId: r.sequence_id,
      stepId: r.step_id,
      tries: r.failures,
      lastError: r.last_error,
      since: (r.quarantined_at ?? new Date(0)).toISOString(),
    })),
    sends: sendRows.map((r) => ({
      kind: 'send',
      touchId: r.id,
      enrollmentId: r.enrollment_id,
      email: r.email,
      sequenceId: r.sequence_id,
      stepId: r.step_id,
      template: r.template,
      tries: r.attempts,
      lastError: r.error,
      since: (r.failed_at ?? r.created_at).toISOString(),
    })),
    counts: await countStuck(db),
  };
}
