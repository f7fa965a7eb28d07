import type { DateTime } from 'luxon';
import { findTaskPlace } from '../db/inbox-task-repository.js';
import { recordTaskActivity } from '../db/task-activity-repository.js';
import { placeTask } from '../db/task-work-repository.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { InboxViewer } from '../queries/inbox-viewer.js';
import { canClaimTask, canSeeTask } from '../queries/inbox-viewer.js';
import type { CompleteTaskResult } from './complete-task.js';
import { claimReason } from './claim-task.js';
import { completeTask } from './complete-task.js';
import type { AppContext } from './context.js';
import { lockTaskAndContact } from './staff-task-guard.js';

/**
 * What a user does to a task from the inbox: claim it from a team queue, record its outcome.
 * Each checks, with the task locked, that the user may see it; a task they may not see is
 * "not found", exactly like a task that does not exist.
 */

const notYours = (id: number) => new NotFoundError(`no task ${id} in your inbox`);

export async function claimInboxTask(ctx: AppContext, v: InboxViewer, taskId: number, now: DateTime): Promise<void> {
  const at = now.toJSDate();
  await ctx.deps.db.transaction().execute(async (tx) => {
    // The contact before the task, as the engine and completions lock: the other order deadlocks.
    const t = (await lockTaskAndContact(tx, taskId))?.task;
    if (!t || !canSeeTask(v, t)) throw notYours(taskId);
    if (t.assignee === v.email) return;
    if (t.status !== 'open') throw new ConflictError(`task ${taskId} is ${t.status}: there is nothing to claim`);
    if (t.assignee !== null) throw new ConflictError(`task ${taskId} is already ${t.assignee}'s`);
    if (!canClaimTask(v, t)) throw new ConflictError(`task ${taskId} is not in the queue of a team of yours`);
    // The same words as a claim from the CLI (one timeline, whichever way it was taken); the detail says where.
    const reason = claimReason(t.team);
    await placeTask(tx, taskId, { assignee: v.email, team: t.team, reason, at, claimed: true });
    await recordTaskActivity(tx, { taskId, actor: v.email, action: 'claimed', reason, detail: { team: t.team, via: 'inbox' }, at });
  });
}

/**
 * Records an outcome of the task's kind. A task still waiting in the queue of a team
 * the user is in is claimed first: whoever did the work holds the task. A manager who is not in
 * the team (they see its queue, they cannot claim from it) records the outcome without claiming;
 * completeTask checks, with the task locked, that they still see it.
 */
export async function completeInboxTask(ctx: AppContext, v: InboxViewer, taskId: number, outcome: string, now: DateTime): Promise<CompleteTaskResult> {
  const t = await findTaskPlace(ctx.deps.db, taskId);
  if (!t || !canSeeTask(v, t)) throw notYours(taskId);
  // The outcome is checked by completeTask against the kind's declared list, as for the CLI.
  if (t.status === 'open' && canClaimTask(v, t)) await claimInboxTask(ctx, v, taskId, now);
  return completeTask(ctx, taskId, outcome, now, { actor: v.email, mayComplete: (locked) => canSeeTask(v, locked) });
}
