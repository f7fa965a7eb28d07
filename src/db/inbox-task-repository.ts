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

export async function findTaskPlace(db: Kysely<Database>, id: number): Promise<TaskPlaceRow | undefined> {
  return db.selectFrom('tasks').select(['id', 'kind', 'status', 'assignee', 'team']).where('id', '=', id).executeTakeFirst();
}
