import type { Kysely, Selectable } from 'kysely';
import type { Database, TaskAction, TaskActivityTable } from './schema.js';

export type TaskActivityRow = Selectable<TaskActivityTable>;

export interface NewTaskActivity {
  taskId: number;
  /** A staff user's email, `system` (the engine and its sweeps) or `cli`. */
  actor: string;
  action: TaskAction;
  reason?: string | null | undefined;
  detail?: Record<string, unknown> | undefined;
  at: Date;
}

/** Records what happened to a task; call it in the transaction that made the change. */
export async function recordTaskActivity(db: Kysely<Database>, a: NewTaskActivity | NewTaskActivity[]): Promise<void> {
  const rows = Array.isArray(a) ? a : [a];
  if (rows.length === 0) return;
  await db
    .insertInto('task_activity')
    .values(rows.map((r) => ({ task_id: r.taskId, actor: r.actor, action: r.action, reason: r.reason ?? null, detail: JSON.stringify(r.detail ?? {}), at: r.at })))
    .execute();
}

/** A task's activity, oldest first; with `limit`, only the oldest that many. */
export async function taskActivity(db: Kysely<Database>, taskId: number, limit?: number): Promise<TaskActivityRow[]> {
  const q = db.selectFrom('task_activity').selectAll().where('task_id', '=', taskId).orderBy('id');
  return (limit === undefined ? q : q.limit(limit)).execute();
}
