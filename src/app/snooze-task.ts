import type { DateTime } from 'luxon';
import type { TaskRow } from '../db/task-repository.js';
import type { NewTaskActivity } from '../db/task-activity-repository.js';
import { recordTaskActivity } from '../db/task-activity-repository.js';
import { setTaskSnooze } from '../db/task-work-repository.js';
import { InputError } from '../errors.js';
import { parseDuration } from '../sequences/duration.js';
import type { AppContext } from './context.js';
import { checkMayWork, lockOpenTask, requireReason, resolveActor } from './staff-task-guard.js';

/** Until a given instant, or for a while from now ("2 hours", "3 days"). */
export type SnoozeSpec = { until: Date } | { duration: string };

export interface SnoozeTaskInput {
  taskId: number;
  snooze: SnoozeSpec;
  reason: string;
  /** A staff email, or `cli`. */
  actor: string;
}

export interface SnoozeTaskResult {
  task: TaskRow;
  until: Date;
  activity: NewTaskActivity;
}

/** A snooze longer than this is a mistake in the date, or work that should be skipped instead. */
const MAX_SNOOZE_DAYS = 366;

/** When a snooze ends. Pure: `now` is the one clock of the call. */
export function snoozeEnd(spec: SnoozeSpec, now: DateTime): Date {
  let until: Date;
  if ('until' in spec) {
    until = spec.until;
    if (Number.isNaN(until.getTime())) throw new InputError('--until: not a valid time');
  } else {
    const d = parseDuration(spec.duration);
    if (!d.ok) throw new InputError(`--for: "${spec.duration}": ${d.error}`);
    if (d.value.kind !== 'calendar') throw new InputError(`--for: "${spec.duration}" is in business days: give hours or days (e.g. "2 hours", "3 days"), or --until a time`);
    until = now.plus(d.value.parts).toJSDate();
  }
  if (until.getTime() <= now.toMillis()) throw new InputError(`the snooze would end at ${until.toISOString()}, which is not after now (${now.toUTC().toISO()})`);
  if (until.getTime() > now.plus({ days: MAX_SNOOZE_DAYS }).toMillis()) {
    throw new InputError(`the snooze would end at ${until.toISOString()}, more than ${MAX_SNOOZE_DAYS} days ahead: skip the task instead (nurture tasks skip)`);
  }
  return until;
}

/**
 * Puts a task out of the way until a time: it is not due (nor overdue) until then, and lists
 * after the tasks that are. Snoozing a snoozed task moves its end. SLA deadlines stay as they
 * are: a snooze does not buy time against speed-to-lead.
 */
export async function snoozeTask(ctx: AppContext, input: SnoozeTaskInput, now: DateTime): Promise<SnoozeTaskResult> {
  const acting = resolveActor(ctx, input.actor);
  const reason = requireReason(input.reason, input.taskId, 'snoozed');
  const until = snoozeEnd(input.snooze, now);
  const at = now.toJSDate();
  return ctx.deps.db.transaction().execute(async (tx) => {
    const { task } = await lockOpenTask(tx, input.taskId, 'snoozed');
    checkMayWork(ctx, acting, task, 'snooze');
    await setTaskSnooze(tx, task.id, until);
    const activity: NewTaskActivity = {
      taskId: task.id,
      actor: acting.actor,
      action: 'snoozed',
      reason,
      detail: { until: until.toISOString(), previousUntil: task.snoozed_until?.toISOString() ?? null },
      at,
    };
    await recordTaskActivity(tx, activity);
    return { task: { ...task, snoozed_until: until }, until, activity };
  });
}
