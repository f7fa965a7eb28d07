import type { Command } from 'commander';
import { DateTime } from 'luxon';
import { claimTask } from '../app/claim-task.js';
import { withApp } from '../app/composition-root.js';
import type { AppContext } from '../app/context.js';
import type { ReassignTarget } from '../app/reassign-task.js';
import { reassignTask } from '../app/reassign-task.js';
import type { SnoozeSpec } from '../app/snooze-task.js';
import { snoozeTask } from '../app/snooze-task.js';
import { skipTask } from '../app/skip-task.js';
import { OPERATOR_ACTORS } from '../app/staff-task-guard.js';
import { InputError, InternalError } from '../errors.js';
import type { TaskActivityView, TaskItem } from '../queries/tasks.js';
import { taskById } from '../queries/tasks.js';
import type { TeamDirectory } from '../staff/directory.js';
import { findUser } from '../staff/directory.js';
import type { ViewOptions } from './contacts.js';
import type { Rendered } from './format.js';
import { emit, formatInstant, relativeTime } from './format.js';
import { action, config } from './shared.js';
import { parseTaskId, placementText } from './task-text.js';
import { addDirectoryOption, requiredTeamDirectory } from './directory-option.js';

/** `nurture tasks claim|snooze|reassign|skip ID`: staff moving their work along, each with who and why. */

export type TaskWorkAction = 'claimed' | 'snoozed' | 'reassigned' | 'skipped';

/** What each of the four commands prints as JSON. */
export interface TaskWorkReport {
  action: TaskWorkAction;
  /** False: the task was already so (claimed by the same user, reassigned where it is); nothing was written. */
  changed: boolean;
  /** The task as it is now. */
  task: TaskItem;
  /** The task_activity row written; null when nothing changed. */
  activity: TaskActivityView | null;
  /** skip: escalation steps cancelled with it. */
  timersCancelled?: number;
}

function activityView(a: { at: Date; actor: string; action: string; reason?: string | null | undefined; detail?: Record<string, unknown> | undefined } | null): TaskActivityView | null {
  return a ? { at: a.at.toISOString(), actor: a.actor, action: a.action, reason: a.reason ?? null, detail: a.detail ?? {} } : null;
}

async function readBack(ctx: AppContext, id: number): Promise<TaskItem> {
  const task = await taskById(ctx.deps.db, id);
  if (!task) throw new InternalError(`task ${id} was changed but cannot be read back`);
  return task;
}

function label(dir: TeamDirectory | undefined, email: string): string {
  const u = dir ? findUser(dir, email) : undefined;
  return u ? `${u.name} <${u.email}>` : email;
}

export async function runClaim(ctx: AppContext, id: number, as: string, o: ViewOptions): Promise<Rendered<TaskWorkReport>> {
  const r = await claimTask(ctx, { taskId: id, as }, o.now);
  const task = await readBack(ctx, id);
  const data: TaskWorkReport = { action: 'claimed', changed: r.changed, task, activity: activityView(r.activity) };
  const who = label(ctx.staff, task.assignee ?? as);
  const text = r.changed ? `task ${id} claimed by ${who} from team ${task.team}'s queue` : `task ${id} is already held by ${who}; nothing changed`;
  return { data, text };
}

export async function runSnooze(ctx: AppContext, id: number, spec: SnoozeSpec, reason: string, actor: string, o: ViewOptions): Promise<Rendered<TaskWorkReport>> {
  const r = await snoozeTask(ctx, { taskId: id, snooze: spec, reason, actor }, o.now);
  const task = await readBack(ctx, id);
  const data: TaskWorkReport = { action: 'snoozed', changed: true, task, activity: activityView(r.activity) };
  return { data, text: `task ${id} snoozed until ${formatInstant(r.until, o.zone)} (${relativeTime(r.until, o.now)}) by ${r.activity.actor}: ${r.activity.reason}` };
}

export async function runReassign(ctx: AppContext, id: number, to: ReassignTarget, reason: string, actor: string, o: ViewOptions): Promise<Rendered<TaskWorkReport>> {
  const before = await readBack(ctx, id);
  const r = await reassignTask(ctx, { taskId: id, to, reason, actor }, o.now);
  const task = await readBack(ctx, id);
  const data: TaskWorkReport = { action: 'reassigned', changed: r.changed, task, activity: activityView(r.activity) };
  const where = task.assignee ? `to ${label(ctx.staff, task.assignee)}${task.team ? ` (team ${task.team})` : ''}` : `to team ${task.team}'s queue`;
  if (!r.changed) return { data, text: `task ${id} is already ${placementText(task) ?? 'there'}; nothing changed` };
  return { data, text: `task ${id} reassigned ${where} by ${r.activity!.actor}: ${reason.trim()} (was ${placementText(before) ?? 'not placed yet'})` };
}

export async function runSkip(ctx: AppContext, id: number, reason: string, actor: string, o: ViewOptions): Promise<Rendered<TaskWorkReport>> {
  const r = await skipTask(ctx, { taskId: id, reason, actor }, o.now);
  const task = await readBack(ctx, id);
  const data: TaskWorkReport = { action: 'skipped', changed: true, task, activity: activityView(r.activity), timersCancelled: r.timersCancelled };
  const timers = r.timersCancelled ? `; ${r.timersCancelled} pending escalation step${r.timersCancelled === 1 ? '' : 's'} cancelled` : '';
  return { data, text: `task ${id} skipped by ${r.activity.actor}: ${r.activity.reason}${timers} (it is not done and counts as no attempt)` };
}

/** `--until` takes an ISO 8601 time (a date alone is its midnight, in the machine's zone). */
export function parseSnoozeFlags(f: { until?: string | undefined; for?: string | undefined }): SnoozeSpec {
  if ((f.until === undefined) === (f.for === undefined)) throw new InputError('snooze: give either --until ISO-TIME or --for DURATION (e.g. --for "2 hours")');
  if (f.for !== undefined) return { duration: f.for };
  const t = DateTime.fromISO(f.until!.trim());
  if (!t.isValid) throw new InputError(`--until: "${f.until}" is not an ISO 8601 time (e.g. 2026-11-26T09:00 or 2026-11-26T09:00:00Z)`);
  return { until: t.toJSDate() };
}

export function parseReassignFlags(f: { to?: string | undefined; team?: string | undefined }): ReassignTarget {
  if ((f.to === undefined) === (f.team === undefined)) throw new InputError('reassign: give either --to EMAIL (a user) or --team NAME (its queue)');
  return f.to !== undefined ? { user: f.to } : { team: f.team! };
}

interface ActFlags {
  as: string;
  directory: string;
  reason: string;
  json?: boolean;
}

/** The directory when the command needs it: always for claim and reassign, and whenever a staff user acts. */
async function directoryFor(f: { as: string; directory: string }, always: boolean, what: string): Promise<TeamDirectory | undefined> {
  if (!always && OPERATOR_ACTORS.includes(f.as.trim().toLowerCase())) return undefined;
  return requiredTeamDirectory(f.directory, what);
}

const AS_HELP = 'who acts: a staff email of the directory, or cli (an operator)';

export function registerTaskWork(tasks: Command): void {
  addDirectoryOption(
    tasks
      .command('claim')
      .description("take a task from one of your teams' queues")
      .argument('<id>', 'task id')
      .requiredOption('--as <email>', 'the staff user claiming it'),
  )
    .option('--json', 'print JSON')
    .action(
      action(async (idText: string, f: Omit<ActFlags, 'reason'>) => {
        const id = parseTaskId(idText);
        const staff = await directoryFor(f, true, 'claim');
        emit(await withApp(config(), (app) => runClaim(app, id, f.as, { now: DateTime.now() }), { staff }), f.json);
      }),
    );
  addDirectoryOption(
    tasks
      .command('snooze')
      .description('put a task out of the way until a time: not due, nor overdue, until then')
      .argument('<id>', 'task id')
      .option('--until <time>', 'ISO 8601 time, e.g. 2026-11-26T09:00')
      .option('--for <duration>', 'e.g. "2 hours", "3 days"')
      .requiredOption('--reason <text>', 'why (kept in the task activity)')
      .option('--as <email>', AS_HELP, 'cli'),
  )
    .option('--json', 'print JSON')
    .action(
      action(async (idText: string, f: ActFlags & { until?: string; for?: string }) => {
        const id = parseTaskId(idText);
        const spec = parseSnoozeFlags(f);
        const staff = await directoryFor(f, false, `acting as ${f.as}`);
        emit(await withApp(config(), (app) => runSnooze(app, id, spec, f.reason, f.as, { now: DateTime.now() }), { staff }), f.json);
      }),
    );
  addDirectoryOption(
    tasks
      .command('reassign')
      .description("give a task to another user, or put it back in a team's queue")
      .argument('<id>', 'task id')
      .option('--to <email>', 'a user of the directory')
      .option('--team <name>', "a team: the task waits in its queue, unclaimed")
      .requiredOption('--reason <text>', 'why (kept in the task activity)')
      .option('--as <email>', AS_HELP, 'cli'),
  )
    .option('--json', 'print JSON')
    .action(
      action(async (idText: string, f: ActFlags & { to?: string; team?: string }) => {
        const id = parseTaskId(idText);
        const to = parseReassignFlags(f);
        const staff = await directoryFor(f, true, 'reassign');
        emit(await withApp(config(), (app) => runReassign(app, id, to, f.reason, f.as, { now: DateTime.now() }), { staff }), f.json);
      }),
    );
  addDirectoryOption(
    tasks
      .command('skip')
      .description('close a task nobody will do: not done, never an attempt; its escalation steps are cancelled')
      .argument('<id>', 'task id')
      .requiredOption('--reason <text>', 'why (kept on the task and in its activity)')
      .option('--as <email>', AS_HELP, 'cli'),
  )
    .option('--json', 'print JSON')
    .action(
      action(async (idText: string, f: ActFlags) => {
        const id = parseTaskId(idText);
        const staff = await directoryFor(f, false, `acting as ${f.as}`);
        emit(await withApp(config(), (app) => runSkip(app, id, f.reason, f.as, { now: DateTime.now() }), { staff }), f.json);
      }),
    );
}
