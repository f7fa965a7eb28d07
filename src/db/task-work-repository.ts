import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/**
 * The changes staff make to a task by hand (claim, snooze, reassign, skip). Each is called inside
 * the use case's transaction, after the task row is locked, beside the task_activity row that
 * says who and why.
 */

export interface TaskPlacement {
  assignee: string | null;
  team: string | null;
  reason: string;
  at: Date;
  /** A user took it from the queue themselves (sets claimed_at), rather than being given it. */
  claimed: boolean;
}

/** Puts the task with a user or in a team's queue; counts as an assignment decision (assigned_at). */
export async function placeTask(db: Kysely<Database>, id: number, p: TaskPlacement): Promise<void> {
  await db
    .updateTable('tasks')
    .set({ assignee: p.assignee, team: p.team, assignment_reason: p.reason, assigned_at: p.at, claimed_at: p.claimed ? p.at : null })
    .where('id', '=', id)
    .execute();
}

/** Until `until`, the task is not due; null lifts a snooze. */
export async function setTaskSnooze(db: Kysely<Database>, id: number, until: Date | null): Promise<void> {
  await db.updateTable('tasks').set({ snoozed_until: until }).where('id', '=', id).execute();
}

/**
 * Closes the task without doing it. The outcome says why ("skipped: ..."), so nothing that
 * counts outcomes (first conversation, attempts) ever counts it; completed_at is when it closed,
 * as for a cancelled task.
 */
export async function markTaskSkipped(db: Kysely<Database>, id: number, why: string, at: Date): Promise<void> {
  await db.updateTable('tasks').set({ status: 'skipped', outcome: `skipped: ${why}`, completed_at: at }).where('id', '=', id).execute();
}
