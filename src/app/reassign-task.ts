import type { DateTime } from 'luxon';
import type { TaskRow } from '../db/task-repository.js';
import type { NewTaskActivity } from '../db/task-activity-repository.js';
import { recordTaskActivity } from '../db/task-activity-repository.js';
import { placeTask } from '../db/task-work-repository.js';
import type { AppContext } from './context.js';
import { checkMayWork, lockOpenTask, requireDirectory, requireReason, requireStaffUser, requireTeam, resolveActor } from './staff-task-guard.js';

/** To a user of the directory, or back into a team's queue for its members to claim. */
export type ReassignTarget = { user: string } | { team: string };

export interface ReassignTaskInput {
  taskId: number;
  to: ReassignTarget;
  reason: string;
  /** A staff email, or `cli`. */
  actor: string;
}

export interface ReassignTaskResult {
  task: TaskRow;
  /** False: it was already there; nothing was written. */
  changed: boolean;
  activity: NewTaskActivity | null;
}

/**
 * Hands a task to someone else or to a team's queue, with why. A user given a task keeps it in
 * its team when they are in that team, else it moves to their first team, so their teammates
 * see it. The new holder did not claim it (claimed_at is cleared).
 */
export async function reassignTask(ctx: AppContext, input: ReassignTaskInput, now: DateTime): Promise<ReassignTaskResult> {
  const dir = requireDirectory(ctx, 'reassigning a task');
  const acting = resolveActor(ctx, input.actor);
  const reason = requireReason(input.reason, input.taskId, 'reassigned');
  // Checked before any lock: a typo is the caller's to fix, whatever state the task is in.
  const user = 'user' in input.to ? requireStaffUser(dir, input.to.user) : undefined;
  const team = 'team' in input.to ? requireTeam(dir, input.to.team) : undefined;
  const at = now.toJSDate();
  return ctx.deps.db.transaction().execute(async (tx) => {
    const { task } = await lockOpenTask(tx, input.taskId, 'reassigned');
    checkMayWork(ctx, acting, task, 'reassign');
    let assignee: string | null;
    let toTeam: string | null;
    if (user) {
      if (task.assignee === user.email) return { task, changed: false, activity: null };
      assignee = user.email;
      toTeam = task.team !== null && user.teams.includes(task.team) ? task.team : (user.teams[0] ?? null);
    } else {
      if (task.assignee === null && task.team === team!.name) return { task, changed: false, activity: null };
      assignee = null;
      toTeam = team!.name;
    }
    const placed = `reassigned by ${acting.actor}: ${reason}`;
    await placeTask(tx, task.id, { assignee, team: toTeam, reason: placed, at, claimed: false });
    const activity: NewTaskActivity = {
      taskId: task.id,
      actor: acting.actor,
      action: 'reassigned',
      reason,
      detail: { from: { assignee: task.assignee, team: task.team }, to: { assignee, team: toTeam } },
      at,
    };
    await recordTaskActivity(tx, activity);
    return {
      task: { ...task, assignee, team: toTeam, assignment_reason: placed, assigned_at: at, claimed_at: null },
      changed: true,
      activity,
    };
  });
}
