import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Database, TaskKind, TaskStatus } from './schema.js';
import type { TaskListing } from './task-repository.js';
import { selectTaskListings } from './task-repository.js';

/**
 * Staff queues: tasks as a rep or an operator works through them, and what a task's contact did
 * lately (touches, opens, clicks). Read-only.
 */

export interface TaskQueueFilter {
  kind?: TaskKind | undefined;
  status?: TaskStatus | 'all' | undefined;
  /** Due (or, when snoozed, back from the snooze) at or before this. */
  dueBefore?: Date | undefined;
  contactId?: string | undefined;
  /** A staff email, or null: only tasks nobody holds. */
  assignee?: string | null | undefined;
  team?: string | undefined;
  /** The user's own tasks and the unclaimed ones in their teams' queues. */
  mine?: { email: string; teams: readonly string[] } | undefined;
  /** Decides which snoozes are still running. */
  now: Date;
  limit?: number | undefined;
}

/**
 * Snoozed tasks last (they are not due until the snooze ends); then the SLA deadline (the
 * soonest first, tasks without one after), high priority, the due time, the id.
 */
export async function listTaskQueue(db: Kysely<Database>, f: TaskQueueFilter): Promise<TaskListing[]> {
  let q = selectTaskListings(db);
  if (f.kind) q = q.where('tasks.kind', '=', f.kind);
  const status = f.status ?? 'open';
  if (status !== 'all') q = q.where('tasks.status', '=', status);
  if (f.dueBefore) q = q.where(sql<Date>`greatest(tasks.due_at, coalesce(tasks.snoozed_until, tasks.due_at))`, '<=', f.dueBefore);
  if (f.contactId) q = q.where('tasks.contact_id', '=', f.contactId);
  if (f.assignee === null) q = q.where('tasks.assignee', 'is', null);
  else if (f.assignee !== undefined) q = q.where('tasks.assignee', '=', f.assignee);
  if (f.team !== undefined) q = q.where('tasks.team', '=', f.team);
  const mine = f.mine;
  if (mine) {
    q = q.where((eb) => {
      const own = eb('tasks.assignee', '=', mine.email);
      if (mine.teams.length === 0) return own;
      return eb.or([own, eb.and([eb('tasks.assignee', 'is', null), eb('tasks.team', 'in', [...mine.teams])])]);
    });
  }
  return q
    .orderBy(sql`case when tasks.snoozed_until > ${f.now} then 1 else 0 end`)
    .orderBy(sql`tasks.sla_due_at asc nulls last`)
    .orderBy(sql`case when tasks.priority = 'high' then 0 else 1 end`)
    .orderBy(sql`greatest(tasks.due_at, coalesce(tasks.snoozed_until, tasks.due_at))`)
    .orderBy('tasks.id')
    .limit(f.limit ?? 200)
    .execute();
}

/**
 * The contact's latest touches (emails, mail, calls), newest first, with when each was first
 * opened and clicked; with `before`, only those sent or due by then (not what is still ahead).
 */
export async function recentTouchesOf(db: Kysely<Database>, contactId: string, limit: number, before?: Date) {
  let q = db
    .selectFrom('touches')
    .select([
      'touches.id',
      'touches.kind',
      'touches.sequence_id',
      'touches.step_id',
      'touches.template',
      'touches.status',
      'touches.subject',
      'touches.due_at',
      'touches.sent_at',
      (eb) =>
        eb
          .selectFrom('events')
          .select(sql<Date>`min(events.occurred_at)`.as('at'))
          .whereRef('events.touch_id', '=', 'touches.id')
          .where('events.type', '=', 'email_opened')
          .as('first_opened_at'),
      (eb) =>
        eb
          .selectFrom('events')
          .select(sql<Date>`min(events.occurred_at)`.as('at'))
          .whereRef('events.touch_id', '=', 'touches.id')
          .where('events.type', '=', 'email_clicked')
          .as('first_clicked_at'),
    ])
    .where('touches.contact_id', '=', contactId);
  if (before) q = q.where(sql<Date>`coalesce(touches.sent_at, touches.due_at)`, '<=', before);
  return q
    .orderBy(sql`coalesce(touches.sent_at, touches.due_at)`, 'desc')
    .orderBy('touches.created_at', 'desc')
    .limit(limit)
    .execute();
}

/** The contact's latest opens or clicks, newest first, with the subject of the email. */
export async function engagementOf(db: Kysely<Database>, contactId: string, type: 'email_opened' | 'email_clicked', limit: number) {
  return db
    .selectFrom('events')
    .leftJoin('touches', 'touches.id', 'events.touch_id')
    .select(['events.occurred_at', 'events.touch_id', 'events.data', 'touches.subject', 'touches.sequence_id', 'touches.step_id'])
    .where('events.contact_id', '=', contactId)
    .where('events.type', '=', type)
    .orderBy('events.seq', 'desc')
    .limit(limit)
    .execute();
}
