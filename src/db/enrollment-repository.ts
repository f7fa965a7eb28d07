import { sql } from 'kysely';
import type { Kysely, Selectable } from 'kysely';
import { StoredDataError } from '../errors.js';
import type { EnrollmentState } from '../sequences/advance.js';
import { parseEnrollmentState } from '../sequences/stored-state.js';
import type { Database, EnrollmentStatus, EnrollmentsTable } from './schema.js';
import type { PageCursor } from './touch-repository.js';

export type EnrollmentRow = Selectable<EnrollmentsTable>;

/**
 * The enrollment's state, parsed and brought up to the current version. A row that fits no
 * version is a StoredDataError naming the enrollment, its sequence version and the field.
 */
export function stateOf(r: Pick<EnrollmentRow, 'id' | 'sequence_id' | 'sequence_version'> & { state: unknown }): EnrollmentState {
  const parsed = parseEnrollmentState(r.state);
  if (parsed.ok) return parsed.value;
  throw new StoredDataError(`enrollment ${r.id} (sequence ${r.sequence_id} version ${r.sequence_version})`, `state.${parsed.path}`, parsed.message);
}

export async function enrollmentsOfContact(db: Kysely<Database>, contactId: string): Promise<EnrollmentRow[]> {
  return db.selectFrom('enrollments').selectAll().where('contact_id', '=', contactId).orderBy('enrolled_at').execute();
}

export async function enrollmentsOfContacts(db: Kysely<Database>, contactIds: string[]): Promise<Map<string, EnrollmentRow[]>> {
  const rows = await db.selectFrom('enrollments').selectAll().where('contact_id', 'in', contactIds).orderBy('enrolled_at').execute();
  const out = new Map<string, EnrollmentRow[]>();
  for (const r of rows) out.set(r.contact_id, [...(out.get(r.contact_id) ?? []), r]);
  return out;
}

export interface NewEnrollment {
  id: string;
  contact_id: string;
  sequence_id: string;
  sequence_version: string;
  status: EnrollmentStatus;
  exit_reason: string | null;
  state: EnrollmentState;
  step_id: string | null;
  next_wake_at: Date | null;
  enrolled_at: Date;
  ended_at: Date | null;
}

export async function insertEnrollments(db: Kysely<Database>, rows: NewEnrollment[]): Promise<void> {
  if (rows.length === 0) return;
  await db
    .insertInto('enrollments')
    .values(rows.map((e) => ({ ...e, state: JSON.stringify(e.state) })))
    .execute();
}

export interface EnrollmentUpdate {
  status: EnrollmentStatus;
  exit_reason: string | null;
  state: EnrollmentState;
  step_id: string | null;
  sequence_version: string;
  next_wake_at: Date | null;
  ended_at: Date | null;
}

/** Writes a new state and bumps wake_version, so any wake-up job queued for the old state is a no-op. */
export async function updateEnrollment(db: Kysely<Database>, id: string, u: EnrollmentUpdate): Promise<number> {
  const r = await db
    .updateTable('enrollments')
    // A new state is a new wake-up: the failures of the old one (and its quarantine) no longer apply.
    .set({ ...u, state: JSON.stringify(u.state), wake_version: sql`wake_version + 1`, failures: 0, last_error: null, quarantined_at: null, updated_at: sql`now()` })
    .where('id', '=', id)
    .returning('wake_version')
    .executeTakeFirstOrThrow();
  return r.wake_version;
}

/** Ends every active enrollment of a contact (promotion, unsubscribe); returns their ids. */
export async function endActiveEnrollments(
  db: Kysely<Database>,
  contactId: string,
  status: EnrollmentStatus,
  reason: string,
  at: Date,
): Promise<string[]> {
  const rows = await db
    .updateTable('enrollments')
    .set({ status, exit_reason: reason, ended_at: at, next_wake_at: null, wake_version: sql`wake_version + 1`, updated_at: sql`now()` })
    .where('contact_id', '=', contactId)
    .where('status', '=', 'active')
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

/** Locks an enrollment for a wake-up if it is still active and at the version the job was made for. */
export async function lockEnrollment(db: Kysely<Database>, id: string): Promise<EnrollmentRow | undefined> {
  return db.selectFrom('enrollments').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

export interface DueWake {
  id: string;
  wake_version: number;
  next_wake_at: Date;
  /** Where the next page starts (see PageCursor). */
  cursor: PageCursor;
}

/**
 * Active, not quarantined enrollments due before `until`, in (next_wake_at, id) order after
 * `after`: what the sweeper hands to the queue.
 */
export async function dueWakes(db: Kysely<Database>, until: Date, limit: number, after?: PageCursor): Promise<DueWake[]> {
  let q = db
    .selectFrom('enrollments')
    .select(['id', 'wake_version', 'next_wake_at', sql<string>`next_wake_at::text`.as('at')])
    .where('status', '=', 'active')
    .where('quarantined_at', 'is', null)
    .where('next_wake_at', '<=', until);
  if (after) q = q.where(sql<boolean>`(next_wake_at, id) > (${after.at}::timestamptz, ${after.id}::uuid)`);
  const rows = await q.orderBy('next_wake_at').orderBy('id').limit(limit).execute();
  return rows.flatMap((r) => (r.next_wake_at ? [{ id: r.id, wake_version: r.wake_version, next_wake_at: r.next_wake_at, cursor: { at: r.at, id: r.id } }] : []));
}

/**
 * Counts one failed try of the wake-up made for `version`, and quarantines the enrollment once
 * `limit` tries failed. Nothing happens (undefined) if the enrollment has moved on since.
 */
export async function recordWakeFailure(
  db: Kysely<Database>,
  id: string,
  version: number,
  error: string,
  at: Date,
  limit: number,
): Promise<{ failures: number; quarantinedAt: Date | null } | undefined> {
  const r = await db
    .updateTable('enrollments')
    .set({
      failures: sql`failures + 1`,
      last_error: error,
      quarantined_at: sql`case when failures + 1 >= ${limit} then coalesce(quarantined_at, ${at}) else null end`,
      updated_at: sql`now()`,
    })
    .where('id', '=', id)
    .where('wake_version', '=', version)
    .where('status', '=', 'active')
    .returning(['failures', 'quarantined_at'])
    .executeTakeFirst();
  return r && { failures: r.failures, quarantinedAt: r.quarantined_at };
}

/**
 * Lifts the quarantine of these enrollments (all quarantined ones when `ids` is 'all'): tries
 * start again from zero, and a new wake_version makes any wake-up still queued for the old one stale.
 */
export async function releaseQuarantined(
  db: Kysely<Database>,
  ids: readonly string[] | 'all',
): Promise<{ id: string; wake_version: number; next_wake_at: Date | null }[]> {
  if (ids !== 'all' && ids.length === 0) return [];
  let q = db
    .updateTable('enrollments')
    .set({ failures: 0, last_error: null, quarantined_at: null, wake_version: sql`wake_version + 1`, updated_at: sql`now()` })
    .where('status', '=', 'active')
    .where('quarantined_at', 'is not', null);
  if (ids !== 'all') q = q.where('id', 'in', [...ids]);
  return q.returning(['id', 'wake_version', 'next_wake_at']).execute();
}

/** Active enrollments per sequence, largest first. */
export async function activeEnrollmentCounts(db: Kysely<Database>): Promise<{ sequenceId: string; active: number }[]> {
  const rows = await db
    .selectFrom('enrollments')
    .select(['sequence_id', sql<number>`count(*)::int`.as('n')])
    .where('status', '=', 'active')
    .groupBy('sequence_id')
    .orderBy(sql`count(*)`, 'desc')
    .orderBy('sequence_id')
    .execute();
  return rows.map((r) => ({ sequenceId: r.sequence_id, active: Number(r.n) }));
}

/** Locks these enrollments, in id order, after their contacts (see lockContactsOfEnrollments). */
export async function lockEnrollments(db: Kysely<Database>, ids: readonly string[]): Promise<Map<string, EnrollmentRow>> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom('enrollments').selectAll().where('id', 'in', [...ids]).orderBy('id').forUpdate().execute();
  return new Map(rows.map((r) => [r.id, r]));
}

/**
 * updateEnrollment for many enrollments in one statement (each bumps its wake_version by one).
 * The caller holds their locks, so each new version is the one it read plus one.
 */
export async function updateEnrollments(db: Kysely<Database>, rows: readonly (EnrollmentUpdate & { id: string })[]): Promise<void> {
  if (rows.length === 0) return;
  const values = JSON.stringify(rows.map((u) => ({ ...u, next_wake_at: u.next_wake_at?.toISOString() ?? null, ended_at: u.ended_at?.toISOString() ?? null })));
  await sql`
    update enrollments e set
      status = v.status, exit_reason = v.exit_reason, state = v.state, step_id = v.step_id,
      sequence_version = v.sequence_version, next_wake_at = v.next_wake_at, ended_at = v.ended_at,
      wake_version = e.wake_version + 1, failures = 0, last_error = null, quarantined_at = null, updated_at = now()
    from jsonb_to_recordset(${values}::jsonb) as v(id uuid, status text, exit_reason text, state jsonb, step_id text,
      sequence_version text, next_wake_at timestamptz, ended_at timestamptz)
    where e.id = v.id`.execute(db);
}
