import type { DateTime } from 'luxon';
import type { TaskRow } from '../db/task-repository.js';
import type { NewTaskActivity } from '../db/task-activity-repository.js';
import { recordTaskActivity } from '../db/task-activity-repository.js';
import { placeTask } from '../db/task-work-repository.js';
import { ConflictError, ForbiddenError } from '../errors.js';
import type { AppContext } from './context.js';
import { lockOpenTask, requireDirectory, requireStaffUser, userLabel } from './staff-task-guard.js';

export interface ClaimTaskInput {
  taskId: number;
  /** The staff user taking the task (an email of the team directory). */
  as: string;
}

export interface ClaimTaskResult {
  task: TaskRow;
  /** False: the user held it already; nothing was written. */
  changed: boolean;
  activity: NewTaskActivity | null;
}

/** Why a claimed task is where it is, in its assignment and its timeline, whether claimed from the CLI or the inbox. */
export function claimReason(team: string): string {
  return `claimed from team ${team}'s queue`;
}

/**
 * A user takes a task from the queue of one of their teams: nobody else holds it, it becomes
 * theirs (claimed now). A task someone else holds is a conflict that names them; a task of a
 * team the user is not in is refused. Claiming one's own task again changes nothing.
 */
export async function claimTask(ctx: AppContext, input: ClaimTaskInput, now: DateTime): Promise<ClaimTaskResult> {
  const dir = requireDirectory(ctx, 'claiming a task');
  const user = requireStaffUser(dir, input.as);
  const at = now.toJSDate();
  return ctx.deps.db.transaction().execute(async (tx) => {
    const { task } = await lockOpenTask(tx, input.taskId, 'claimed');
    if (task.assignee === user.email) return { task, changed: false, activity: null };
    if (task.assignee !== null) {
      const since = task.claimed_at ?? task.assigned_at;
      throw new ConflictError(
        `task ${task.id} is ${task.claimed_at ? 'claimed by' : 'assigned to'} ${userLabel(dir, task.assignee)}${since ? ` since ${since.toISOString()}` : ''}: ` +
          `ask them, or hand it over with: nurture tasks reassign ${task.id} --to ${user.email} --reason TEXT`,
      );
    }
    if (task.team === null) {
      throw new ForbiddenError(`task ${task.id} is in no team's queue (nobody has placed it yet): it cannot be claimed; an operator can give it to someone with nurture tasks reassign`);
    }
    if (!user.teams.includes(task.team)) {
      throw new ForbiddenError(`task ${task.id} is in team ${task.team}'s queue: ${user.email} is not in team ${task.team} (teams: ${user.teams.join(', ') || 'none'})`);
    }
    const reason = claimReason(task.team);
    await placeTask(tx, task.id, { assignee: user.email, team: task.team, reason, at, claimed: true });
    const activity: NewTaskActivity = { taskId: task.id, actor: user.email, action: 'claimed', reason, detail: { team: task.team }, at };
    await recordTaskActivity(tx, activity);
    return {
      task: { ...task, assignee: user.email, assignment_reason: reason, assigned_at: at, claimed_at: at },
      changed: true,
      activity,
    };
  });
}
