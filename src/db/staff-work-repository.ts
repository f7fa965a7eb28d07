import { sql } from 'kysely';
import type { Kysely, Selectable } from 'kysely';
import { z } from 'zod';
import type { Database, TaskTimersTable, TasksTable, TimerAction } from './schema.js';

/**
 * What the staff sweep reads and writes: tasks waiting for an assignment decision, open task
 * counts per assignee, team round-robin cursors, and the durable SLA escalation timers.
 */

export type TaskTimerRow = Selectable<TaskTimersTable>;

export interface UnassignedTask {
  id: number;
  contact_id: string;
  kind: Selectable<TasksTable>['kind'];
  priority: 'normal' | 'high';
  title: string;
  created_at: Date;
  sequence: string | null;
  owner: string | null;
  attributes: unknown;
  tags: unknown;
  timezone: string | null;
}

/**
 * Open tasks no assignment decision was made for yet, oldest first, NOT locked: the sweep locks
 * their contacts first (the order every writer keeps), then the tasks themselves.
 */
export async function unassignedTaskCandidates(db: Kysely<Database>, limit: number): Promise<{ id: number; contact_id: string }[]> {
  return db.selectFrom('tasks').select(['id', 'contact_id']).where('assigned_at', 'is', null).where('status', '=', 'open').orderBy('id').limit(limit).execute();
}

/** The contacts, locked in id order (two sweeps locking overlapping sets never deadlock). */
export async function lockContactsInOrder(db: Kysely<Database>, contactIds: readonly string[]): Promise<void> {
  if (contactIds.length === 0) return;
  await db.selectFrom('contacts').select('id').where('id', 'in', [...new Set(contactIds)]).orderBy('id').forUpdate().execute();
}

/**
 * Of these tasks, those still open and without an assignment decision, locked (others skip them),
 * oldest first, with their contact's facts (read after the contact was locked, so current).
 */
export async function lockUnassignedTasks(db: Kysely<Database>, ids: readonly number[]): Promise<UnassignedTask[]> {
  if (ids.length === 0) return [];
  return db
    .selectFrom('tasks')
    .innerJoin('contacts', 'contacts.id', 'tasks.contact_id')
    .leftJoin('enrollments', 'enrollments.id', 'tasks.enrollment_id')
    .select(['tasks.id', 'tasks.contact_id', 'tasks.kind', 'tasks.priority', 'tasks.title', 'tasks.created_at', 'enrollments.sequence_id as sequence', 'contacts.owner', 'contacts.attributes', 'contacts.tags', 'contacts.timezone'])
    .where('tasks.id', 'in', [...ids])
    .where('tasks.assigned_at', 'is', null)
    .where('tasks.status', '=', 'open')
    .orderBy('tasks.id')
    .forUpdate('tasks')
    .skipLocked()
    .execute();
}

/** Open tasks per assignee: what capacity is measured against. */
export async function openTaskLoads(db: Kysely<Database>): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('tasks')
    .select(['assignee', sql<number>`count(*)::int`.as('n')])
    .where('status', '=', 'open')
    .where('assignee', 'is not', null)
    .groupBy('assignee')
    .execute();
  return new Map(rows.map((r) => [r.assignee!, Number(r.n)]));
}

/** Every team's round-robin cursor, locked until the transaction ends (one rotation at a time). */
export async function lockTeamCursors(db: Kysely<Database>): Promise<Map<string, string>> {
  const rows = await db.selectFrom('team_cursors').select(['team', 'last_assignee']).orderBy('team').forUpdate().execute();
  return new Map(rows.map((r) => [r.team, r.last_assignee]));
}

export async function saveTeamCursor(db: Kysely<Database>, team: string, last: string, at: Date): Promise<void> {
  await db
    .insertInto('team_cursors')
    .values({ team, last_assignee: last, at })
    .onConflict((oc) => oc.column('team').doUpdateSet({ last_assignee: last, at }))
    .execute();
}

export interface TaskAssignment {
  assignee: string | null;
  team: string | null;
  reason: string;
  at: Date;
  slaDueAt: Date | null;
}

export async function writeAssignment(db: Kysely<Database>, taskId: number, a: TaskAssignment): Promise<void> {
  await db
    .updateTable('tasks')
    .set({ assignee: a.assignee, team: a.team, assignment_reason: a.reason, assigned_at: a.at, sla_due_at: a.slaDueAt })
    .where('id', '=', taskId)
    .execute();
}

/** Gives the contact its fixed owner, unless it has one already. */
export async function setContactOwnerIfNone(db: Kysely<Database>, contactId: string, owner: string): Promise<void> {
  await db.updateTable('contacts').set({ owner }).where('id', '=', contactId).where('owner', 'is', null).execute();
}

/** Moves the contact's ownership from one rep to another (a reassignment of its call). */
export async function moveContactOwner(db: Kysely<Database>, contactId: string, from: string | null, to: string): Promise<void> {
  let q = db.updateTable('contacts').set({ owner: to }).where('id', '=', contactId);
  q = from === null ? q.where('owner', 'is', null) : q.where('owner', '=', from);
  await q.execute();
}

/** Stored in task_timers.detail: which escalation step of the SLA rule it is. */
export const timerDetailSchema = z.object({ v: z.literal(1), escalation: z.number().int().min(0).nullable() });
export type TimerDetail = z.infer<typeof timerDetailSchema>;

export interface NewTimer {
  step: number;
  action: TimerAction;
  dueAt: Date;
  escalation: number | null;
}

export async function insertTimers(db: Kysely<Database>, taskId: number, timers: readonly NewTimer[]): Promise<void> {
  if (timers.length === 0) return;
  await db
    .insertInto('task_timers')
    .values(timers.map((t) => ({ task_id: taskId, step: t.step, action: t.action, due_at: t.dueAt, detail: JSON.stringify({ v: 1, escalation: t.escalation } satisfies TimerDetail) })))
    .onConflict((oc) => oc.columns(['task_id', 'step']).doNothing())
    .execute();
}

/** Ids of pending timers due by `now`, soonest first, with their task's contact (unlocked: each is locked when handled). */
export async function dueTimerIds(db: Kysely<Database>, now: Date, limit: number): Promise<{ id: string; task_id: number; contact_id: string }[]> {
  return db
    .selectFrom('task_timers')
    .innerJoin('tasks', 'tasks.id', 'task_timers.task_id')
    .select(['task_timers.id', 'task_timers.task_id', 'tasks.contact_id'])
    .where('task_timers.status', '=', 'pending')
    .where('task_timers.due_at', '<=', now)
    .orderBy('task_timers.due_at')
    .orderBy('task_timers.id')
    .limit(limit)
    .execute();
}

/** The task, locked; undefined when another process holds it (it handles the timer). */
export async function lockTaskSkipping(db: Kysely<Database>, id: number): Promise<Selectable<TasksTable> | undefined> {
  return db.selectFrom('tasks').selectAll().where('id', '=', id).forUpdate().skipLocked().executeTakeFirst();
}

/** The timer, locked, if it is still pending. */
export async function lockPendingTimer(db: Kysely<Database>, id: string): Promise<TaskTimerRow | undefined> {
  return db.selectFrom('task_timers').selectAll().where('id', '=', id).where('status', '=', 'pending').forUpdate().executeTakeFirst();
}

export async function markTimerFired(db: Kysely<Database>, id: string, at: Date): Promise<void> {
  await db.updateTable('task_timers').set({ status: 'fired', fired_at: at }).where('id', '=', id).execute();
}

/** Cancels the task's pending timers (all, or only those of the given actions); returns how many. */
export async function cancelPendingTimers(db: Kysely<Database>, taskId: number, actions?: readonly TimerAction[]): Promise<number> {
  let q = db.updateTable('task_timers').set({ status: 'cancelled' }).where('task_id', '=', taskId).where('status', '=', 'pending');
  if (actions) q = q.where('action', 'in', actions);
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows);
}

export async function nextTimerStep(db: Kysely<Database>, taskId: number): Promise<number> {
  const r = await db.selectFrom('task_timers').select(sql<number>`coalesce(max(step), 0)::int`.as('m')).where('task_id', '=', taskId).executeTakeFirst();
  return Number(r?.m ?? 0) + 1;
}

export async function markBreached(db: Kysely<Database>, taskId: number, at: Date): Promise<void> {
  await db.updateTable('tasks').set({ breached_at: at }).where('id', '=', taskId).where('breached_at', 'is', null).execute();
}

