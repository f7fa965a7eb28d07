import type { Kysely } from 'kysely';
import type { Database, TaskKind, TaskStatus } from './schema.js';

/** What the inbox's use cases need of a task to decide whether the user may act on it. */
export interface TaskPlaceRow {
  id: number;
  kind: TaskKind;
  status: TaskStatus;
  assignee: string | null;
  team: string | null;
}

export async function lockTaskPlace(db: Kysely<Database>, id: number): Promise<TaskPlaceRow | undefined> {
  return db.selectFrom('tasks').select(['id', 'kind', 'status', 'assignee', 'team']).where('id', '=', id).forUpdate().executeTakeFirst();
}

export async function findTaskPlace(db: Kysely<Database>, id: number): Promise<TaskPlaceRow | undefined> {
  return db.selectFrom('tasks').select(['id', 'kind', 'status', 'assignee', 'team']).where('id', '=', id).executeTakeFirst();
}

/** Takes an open, unclaimed task for `email`; false when someone else was quicker. */
export async function claimQueuedTask(db: Kysely<Database>, id: number, email: string, at: Date): Promise<boolean> {
  const r = await db
    .updateTable('tasks')
    .set({ assignee: email, claimed_at: at, assigned_at: at, assignment_reason: 'claimed from the team queue' })
    .where('id', '=', id)
    .where('status', '=', 'open')
    .where('assignee', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
