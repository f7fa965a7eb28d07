import { sql } from 'kysely';
import type { Kysely, Selectable } from 'kysely';
import type { Database, TaskKind, TasksTable } from './schema.js';

export type TaskRow = Selectable<TasksTable>;

export interface NewTask {
  touch_id: string | null;
  contact_id: string;
  enrollment_id: string | null;
  kind: TaskKind;
  priority: 'normal' | 'high';
  title: string;
  note: string | null;
  content: Record<string, unknown> | null;
  address: Record<string, unknown> | null;
  phone: string | null;
  history: unknown[];
  due_at: Date;
}

function taskValues(t: NewTask) {
  return {
    ...t,
    status: 'open' as const,
    content: t.content ? JSON.stringify(t.content) : null,
    address: t.address ? JSON.stringify(t.address) : null,
    history: JSON.stringify(t.history),
  };
}

export async function insertTask(db: Kysely<Database>, t: NewTask): Promise<number | undefined> {
  const r = await db
    .insertInto('tasks')
    .values(taskValues(t))
    .onConflict((oc) => oc.column('touch_id').doNothing())
    .returning('id')
    .executeTakeFirst();
  return r?.id;
}

export async function insertTasks(db: Kysely<Database>, tasks: NewTask[]): Promise<void> {
  if (tasks.length === 0) return;
  await db
    .insertInto('tasks')
    .values(tasks.map(taskValues))
    .onConflict((oc) => oc.column('touch_id').doNothing())
    .execute();
}


export type TaskListing = TaskRow & {
  email: string;
  first_name: string | null;
  last_name: string | null;
  /** The contact's reach as staff last reported it: a returned piece, a wrong number. */
  address_bad_at: Date | null;
  phone_bad_at: Date | null;
};


export async function lockTask(db: Kysely<Database>, id: number): Promise<TaskRow | undefined> {
  return db.selectFrom('tasks').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

export async function completeTask(db: Kysely<Database>, id: number, outcome: string, at: Date): Promise<void> {
  await db.updateTable('tasks').set({ status: 'done', outcome, completed_at: at }).where('id', '=', id).execute();
}

/** Cancels nurture work staff has not done yet (not the lead call a promotion creates). */
export async function cancelOpenNurtureTasks(db: Kysely<Database>, contactId: string, reason: string, at: Date): Promise<number> {
  const r = await db
    .updateTable('tasks')
    .set({ status: 'cancelled', outcome: reason, completed_at: at })
    .where('contact_id', '=', contactId)
    .where('status', '=', 'open')
    .where('enrollment_id', 'is not', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/**
 * Tasks joined to what a TaskListing carries of their contact, for a read to narrow (and add to):
 * one select, so every listing has the same columns.
 */
export function selectTaskListings(db: Kysely<Database>) {
  return db
    .selectFrom('tasks')
    .innerJoin('contacts', 'contacts.id', 'tasks.contact_id')
    .selectAll('tasks')
    // The contact's bad-address and wrong-number marks too: staff see them on every task of the contact.
    .select(['contacts.email', 'contacts.first_name', 'contacts.last_name', 'contacts.address_bad_at', 'contacts.phone_bad_at']);
}

/** One task with its contact's email and name, or undefined. */
export async function findTask(db: Kysely<Database>, id: number): Promise<TaskListing | undefined> {
  return selectTaskListings(db).where('tasks.id', '=', id).executeTakeFirst();
}

/** The newest lead call a promotion made for the contact (no touch, no enrollment), if any. */
export async function latestLeadCallTask(db: Kysely<Database>, contactId: string): Promise<TaskRow | undefined> {
  return db
    .selectFrom('tasks')
    .selectAll()
    .where('contact_id', '=', contactId)
    .where('kind', '=', 'call')
    .where('touch_id', 'is', null)
    .where('enrollment_id', 'is', null)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** Open tasks per kind, and how many of them were due before `now` (a snoozed task is not due until its snooze ends). */
export async function openTaskCounts(db: Kysely<Database>, now: Date): Promise<{ kind: TaskKind; open: number; overdue: number }[]> {
  const rows = await db
    .selectFrom('tasks')
    .select(['kind', sql<number>`count(*)::int`.as('open'), sql<number>`(count(*) filter (where greatest(due_at, coalesce(snoozed_until, due_at)) < ${now}))::int`.as('overdue')])
    .where('status', '=', 'open')
    .groupBy('kind')
    .execute();
  return rows.map((r) => ({ kind: r.kind, open: Number(r.open), overdue: Number(r.overdue) }));
}
