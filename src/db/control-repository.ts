import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Database, SequenceStatus } from './schema.js';

/**
 * The SQL behind manual control: holding and releasing in-flight work (pauses), ending
 * enrollments by hand (remove, retire), and the sequences' status.
 *
 * A held enrollment keeps its wake-up in `held_wake_at` and has no `next_wake_at`, so the sweeper
 * does not offer it; `wake_version` is bumped, so a wake-up job already in Redis is a no-op. Its
 * pending emails are `held`, which neither the sweeper nor the send worker sends.
 */

/** Which enrollments an operation is about: one sequence, one contact, or one enrollment. */
export type Scope = { sequenceId: string } | { contactId: string } | { enrollmentId: string };

function column(scope: Scope) {
  return 'sequenceId' in scope
    ? ({ col: 'sequence_id', value: scope.sequenceId } as const)
    : 'contactId' in scope
      ? ({ col: 'contact_id', value: scope.contactId } as const)
      : ({ col: 'id', value: scope.enrollmentId } as const);
}

/** Holds the active, not yet held enrollments in scope and their pending emails. Returns how many of each. */
export async function holdWork(db: Kysely<Database>, scope: Scope, at: Date): Promise<{ enrollments: number; emails: number }> {
  const { col, value } = column(scope);
  const held = await db
    .updateTable('enrollments')
    .set({
      held_at: at,
      held_wake_at: sql`next_wake_at`,
      next_wake_at: null,
      wake_version: sql`wake_version + 1`,
      updated_at: sql`now()`,
    })
    .where(col, '=', value)
    .where('status', '=', 'active')
    .where('held_at', 'is', null)
    .returning('id')
    .execute();
  const ids = held.map((r) => r.id);
  if (ids.length === 0) return { enrollments: 0, emails: 0 };
  const emails = await db
    .updateTable('touches')
    .set({ status: 'held' })
    .where('enrollment_id', 'in', ids)
    .where('kind', '=', 'email')
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return { enrollments: ids.length, emails: Number(emails.numUpdatedRows) };
}

export interface Released {
  released: number;
  wakes: { enrollmentId: string; version: number; at: Date }[];
  sends: { touchId: string; at: Date }[];
  /** Enrollments still held because the other side of the pause (contact or sequence) is paused. */
  stillHeld: number;
  /** Held emails of enrollments that ended meanwhile (unsubscribe, promotion): cancelled, never sent. */
  cancelled: number;
}

/**
 * Releases held enrollments in scope whose contact is not paused and whose sequence is live. The
 * wake-up keeps the time it was due: one that passed during the pause runs once, at once, and the
 * engine's late-wake rule restarts the clock at that moment, so the rest keeps its spacing.
 */
export async function releaseWork(db: Kysely<Database>, scope: Scope): Promise<Released> {
  const { col, value } = column(scope);
  const rows = await db
    .updateTable('enrollments')
    .set({
      next_wake_at: sql`held_wake_at`,
      held_at: null,
      held_wake_at: null,
      wake_version: sql`wake_version + 1`,
      updated_at: sql`now()`,
    })
    .where(`enrollments.${col}`, '=', value)
    .where('enrollments.status', '=', 'active')
    .where('enrollments.held_at', 'is not', null)
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('contacts')
          .innerJoin('sequences', (j) => j.onTrue())
          .select(sql.lit(1).as('one'))
          .whereRef('contacts.id', '=', 'enrollments.contact_id')
          .whereRef('sequences.id', '=', 'enrollments.sequence_id')
          .where('contacts.paused_at', 'is', null)
          .where('sequences.status', '=', 'live'),
      ),
    )
    .returning(['id', 'wake_version', 'next_wake_at'])
    .execute();
  const ids = rows.map((r) => r.id);
  const sends =
    ids.length === 0
      ? []
      : await db
          .updateTable('touches')
          .set({ status: 'pending' })
          .where('enrollment_id', 'in', ids)
          .where('status', '=', 'held')
          .returning(['id', 'due_at'])
          .execute();
  const ended = await db
    .updateTable('touches')
    .set({ status: 'cancelled', error: sql`coalesce((select 'enrollment ' || coalesce(e.exit_reason, e.status) from enrollments e where e.id = touches.enrollment_id), 'enrollment ended')` })
    .where('status', '=', 'held')
    .where(`touches.${col === 'id' ? 'enrollment_id' : col}`, '=', value)
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('enrollments').select(sql.lit(1).as('one')).whereRef('enrollments.id', '=', 'touches.enrollment_id').where('enrollments.status', '=', 'active'))),
    )
    .executeTakeFirst();
  const still = await db
    .selectFrom('enrollments')
    .select(sql<number>`count(*)::int`.as('n'))
    .where(col, '=', value)
    .where('status', '=', 'active')
    .where('held_at', 'is not', null)
    .executeTakeFirstOrThrow();
  return {
    released: ids.length,
    wakes: rows.filter((r) => r.next_wake_at !== null).map((r) => ({ enrollmentId: r.id, version: r.wake_version, at: r.next_wake_at! })),
    sends: sends.map((t) => ({ touchId: t.id, at: t.due_at })),
    stillHeld: Number(still.n),
    cancelled: Number(ended.numUpdatedRows),
  };
}

export interface Ended {
  enrollments: string[];
  emails: number;
  tasks: number;
}

/**
 * Ends the active enrollments in scope as `exited` with `reason`, cancels their unsent emails
 * (pending or held) and their open staff tasks.
 */
export async function endEnrollments(db: Kysely<Database>, scope: Scope, reason: string, at: Date): Promise<Ended> {
  const { col, value } = column(scope);
  const rows = await db
    .updateTable('enrollments')
    .set({
      status: 'exited',
      exit_reason: reason,
      ended_at: at,
      next_wake_at: null,
      held_at: null,
      held_wake_at: null,
      wake_version: sql`wake_version + 1`,
      updated_at: sql`now()`,
    })
    .where(col, '=', value)
    .where('status', '=', 'active')
    .returning('id')
    .execute();
  const ids = rows.map((r) => r.id);
  if (ids.length === 0) return { enrollments: [], emails: 0, tasks: 0 };
  const emails = await db
    .updateTable('touches')
    .set({ status: 'cancelled', error: reason })
    .where('enrollment_id', 'in', ids)
    .where('kind', '=', 'email')
    .where('status', 'in', ['pending', 'held'])
    .executeTakeFirst();
  const tasks = await db
    .updateTable('tasks')
    .set({ status: 'cancelled', outcome: `cancelled: ${reason}`, completed_at: at })
    .where('enrollment_id', 'in', ids)
    .where('status', '=', 'open')
    .executeTakeFirst();
  return { enrollments: ids, emails: Number(emails.numUpdatedRows), tasks: Number(tasks.numUpdatedRows) };
}

/** Unsent emails and open staff tasks of the active enrollments in scope: what ending them would cancel. */
export async function pendingWorkOf(db: Kysely<Database>, scope: Scope): Promise<{ emails: number; tasks: number }> {
  const { col, value } = column(scope);
  const active = db.selectFrom('enrollments').select('id').where(col, '=', value).where('status', '=', 'active');
  const emails = await db
    .selectFrom('touches')
    .select(sql<number>`count(*)::int`.as('n'))
    .where('enrollment_id', 'in', active)
    .where('kind', '=', 'email')
    .where('status', 'in', ['pending', 'held'])
    .executeTakeFirstOrThrow();
  const tasks = await db
    .selectFrom('tasks')
    .select(sql<number>`count(*)::int`.as('n'))
    .where('enrollment_id', 'in', active)
    .where('status', '=', 'open')
    .executeTakeFirstOrThrow();
  return { emails: Number(emails.n), tasks: Number(tasks.n) };
}

export interface SequenceRow {
  id: string;
  status: SequenceStatus;
  version: string;
  sourceFile: string | null;
}

/** The sequence's row, locked until the transaction ends (so two operators cannot race on it). */
export async function lockSequence(db: Kysely<Database>, id: string): Promise<SequenceRow | undefined> {
  const r = await db
    .selectFrom('sequences')
    .leftJoin('sequence_versions', (j) => j.onRef('sequence_versions.sequence_id', '=', 'sequences.id').onRef('sequence_versions.version', '=', 'sequences.active_version'))
    .select(['sequences.id', 'sequences.status', 'sequences.active_version', 'sequence_versions.source_file'])
    .where('sequences.id', '=', id)
    .forUpdate('sequences')
    .executeTakeFirst();
  return r && { id: r.id, status: r.status, version: r.active_version, sourceFile: r.source_file };
}

export async function setSequenceStatus(db: Kysely<Database>, id: string, status: SequenceStatus): Promise<void> {
  await db.updateTable('sequences').set({ status, updated_at: sql`now()` }).where('id', '=', id).execute();
}

export async function setContactPaused(db: Kysely<Database>, id: string, at: Date | null): Promise<void> {
  await db.updateTable('contacts').set({ paused_at: at, updated_at: sql`now()` }).where('id', '=', id).execute();
}
