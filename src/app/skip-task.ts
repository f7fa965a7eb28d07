import type { DateTime } from 'luxon';
import type { TaskRow } from '../db/task-repository.js';
import type { NewTaskActivity } from '../db/task-activity-repository.js';
import { recordTaskActivity } from '../db/task-activity-repository.js';
import { cancelPendingTimers } from '../db/staff-work-repository.js';
import { markTaskSkipped } from '../db/task-work-repository.js';
import type { AppContext } from './context.js';
import { checkMayWork, lockOpenTask, requireReason, resolveActor } from './staff-task-guard.js';

export interface SkipTaskInput {
  taskId: number;
  reason: string;
  /** A staff email, or `cli`. */
  actor: string;
}

export interface SkipTaskResult {
  task: TaskRow;
  /** Escalation steps that will now never fire. */
  timersCancelled: number;
  activity: NewTaskActivity;
}

/**
 * Closes a task nobody will do, with why. A skipped task is not done: it has no outcome from
 * the declared list, so it never counts as a call attempt or a conversation, and sequences hear
 * nothing of it. Its pending escalation timers are cancelled in the same transaction.
 */
export async function skipTask(ctx: AppContext, input: SkipTaskInput, now: DateTime): Promise<SkipTaskResult> {
  const acting = resolveActor(ctx, input.actor);
  const reason = requireReason(input.reason, input.taskId, 'skipped');
  const at = now.toJSDate();
  return ctx.deps.db.transaction().execute(async (tx) => {
    const { task } = await lockOpenTask(tx, input.taskId, 'skipped');
    checkMayWork(ctx, acting, task, 'skip');
    await markTaskSkipped(tx, task.id, reason, at);
    const timersCancelled = await cancelPendingTimers(tx, task.id);
    const activity: NewTaskActivity = { taskId: task.id, actor: acting.actor, action: 'skipped', reason, detail: { timersCancelled }, at };
    await recordTaskActivity(tx, activity);
    return { task: { ...task, status: 'skipped' as const, outcome: `skipped: ${reason}`, completed_at: at }, timersCancelled, activity };
  });
}
