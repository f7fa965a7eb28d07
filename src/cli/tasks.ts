import type { Command } from 'commander';
import { DateTime } from 'luxon';
import type { CompleteTaskOptions, CompleteTaskResult } from '../app/complete-task.js';
import { completeTask } from '../app/complete-task.js';
import { withApp, withReadDb } from '../app/composition-root.js';
import type { AppContext } from '../app/context.js';
import type { ReadDb } from '../queries/read-db.js';
import type { TaskDetail, TaskItem, TaskKind, TaskStatus } from '../queries/tasks.js';
import { TASK_KINDS, TASK_STATUSES, effectiveDueAt, isOverdue, isSnoozed, taskById, taskDetail, taskList } from '../queries/tasks.js';
import { InputError, InternalError } from '../errors.js';
import { outcomesFor } from '../staff/outcomes.js';
import type { TeamDirectory } from '../staff/directory.js';
import { findUser } from '../staff/directory.js';
import type { HistoryEntry } from '../sequences/conditions.js';
import type { Stage } from '../sequences/stage.js';
import type { ViewOptions } from './contacts.js';
import type { Rendered } from './format.js';
import { emit, formatAddress, formatInstant, parseChoice, parseInstant, parseLimit, relativeTime, truncate } from './format.js';
import { action, config } from './shared.js';
import { parseTaskId, placementText, slaText } from './task-text.js';
import { registerTaskWork } from './tasks-work.js';
import { addDirectoryOption, requiredTeamDirectory } from './directory-option.js';

/**
 * `nurture tasks [list]`, `nurture tasks show ID`, `nurture tasks done ID --outcome TEXT`; claim,
 * snooze, reassign and skip are in tasks-work.ts.
 */

export { TASK_KINDS, TASK_STATUSES };
export { parseTaskId, placementText, slaText };

export interface TaskFlags {
  kind?: string | undefined;
  status?: string | undefined;
  dueBefore?: string | undefined;
  contact?: string | undefined;
  limit?: string | undefined;
  /** A staff email, or `none` for tasks nobody holds. */
  assignee?: string | undefined;
  team?: string | undefined;
  /** A staff email: their tasks and their teams' unclaimed ones (needs the directory). */
  mine?: string | undefined;
}

export interface TaskListOptions extends ViewOptions {
  kind?: TaskKind | undefined;
  status?: TaskStatus | 'all' | undefined;
  dueBefore?: Date | undefined;
  contactEmail?: string | undefined;
  assignee?: string | null | undefined;
  team?: string | undefined;
  mine?: { email: string; teams: readonly string[] } | undefined;
  limit?: number | undefined;
}

function nonEmpty(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === '') throw new InputError(`${flag}: empty`);
  return v;
}

/** Turns the flags into list options; every bad flag is an InputError naming the flag. `--mine` needs the directory. */
export function parseTaskFlags(f: TaskFlags, view: ViewOptions, directory?: TeamDirectory): TaskListOptions {
  const assignee = nonEmpty('--assignee', f.assignee);
  const mineEmail = nonEmpty('--mine', f.mine);
  let mine: TaskListOptions['mine'];
  if (mineEmail !== undefined) {
    if (!directory) throw new InputError('--mine: needs the team directory (--directory FILE) to know the teams');
    const user = findUser(directory, mineEmail);
    if (!user) throw new InputError(`--mine: no user "${mineEmail}" in ${directory.file}`);
    mine = { email: user.email, teams: user.teams };
  }
  return {
    ...view,
    kind: parseChoice('--kind', f.kind, TASK_KINDS),
    status: parseChoice('--status', f.status, TASK_STATUSES) ?? 'open',
    dueBefore: f.dueBefore === undefined ? undefined : parseInstant('--due-before', f.dueBefore, view.now, 'ahead', view.zone),
    contactEmail: f.contact,
    assignee: assignee === undefined ? undefined : assignee.toLowerCase() === 'none' ? null : assignee.toLowerCase(),
    team: nonEmpty('--team', f.team),
    mine,
    limit: parseLimit(f.limit, 200),
  };
}


function dueText(t: TaskItem, o: ViewOptions): string {
  const due = new Date(t.dueAt);
  const abs = formatInstant(due, o.zone);
  if (t.status !== 'open') return `due ${abs}`;
  if (isSnoozed(t, o.now)) {
    const until = new Date(effectiveDueAt(t));
    return `snoozed until ${formatInstant(until, o.zone)} (${relativeTime(until, o.now)}; due ${abs})`;
  }
  // A task made this very minute (a notice, a lead call) is due now, not overdue.
  if (Math.abs(due.getTime() - o.now.toMillis()) < 60_000) return `due now (${abs})`;
  if (due.getTime() < o.now.toMillis()) return `OVERDUE ${relativeTime(due, o.now).replace(/ ago$/, '')} (due ${abs})`;
  return `due ${relativeTime(due, o.now)} (${abs})`;
}

function who(c: { email: string; name: string | null }): string {
  return c.name ? `${c.name} <${c.email}>` : c.email;
}



function taskBlock(t: TaskItem, o: ViewOptions): string[] {
  const head = [`#${t.id}`.padEnd(6), t.kind.padEnd(9), (t.priority === 'high' ? 'HIGH' : 'normal').padEnd(7), dueText(t, o)];
  // A cancellation's outcome already says "cancelled: <why>".
  if (t.status !== 'open') head.push(`[${t.outcome?.startsWith(t.status) ? t.outcome : `${t.status}${t.outcome ? `: ${t.outcome}` : ''}`}]`);
  const reach =
    t.kind === 'call'
      ? `phone ${t.phone ?? 'NONE ON FILE'}`
      : t.kind === 'postcard' || t.kind === 'letter'
        ? `to ${formatAddress(t.address) ?? 'NO POSTAL ADDRESS ON FILE'}`
        : null;
  const lines = [head.join(' '), `      ${who(t.contact)}${reach ? `, ${reach}` : ''}`, `      ${t.title}`];
  const work = [slaText(t, o), placementText(t)].filter(Boolean);
  if (work.length) lines.push(`      ${work.join('; ')}`);
  if (t.note) lines.push(`      ${truncate(t.note, 200)}`);
  return lines;
}

export async function listTasksView(db: ReadDb, o: TaskListOptions): Promise<Rendered<TaskItem[]>> {
  const data = await taskList(db, o);
  const status = o.status ?? 'open';
  const what = `${status === 'all' ? '' : `${status} `}${o.kind ? `${o.kind} ` : ''}task`;
  const scope = [
    o.mine ? `for ${o.mine.email}` : '',
    o.assignee === null ? 'held by nobody' : o.assignee ? `held by ${o.assignee}` : '',
    o.team ? `in team ${o.team}` : '',
    o.dueBefore ? `due before ${formatInstant(o.dueBefore, o.zone)}` : '',
  ].filter(Boolean);
  if (data.length === 0) return { data, text: `no ${what}s${scope.length ? ` ${scope.join(', ')}` : ''}` };
  const high = data.filter((t) => t.priority === 'high').length;
  const overdue = data.filter((t) => isOverdue(t, o.now)).length;
  const snoozed = data.filter((t) => t.status === 'open' && isSnoozed(t, o.now)).length;
  const facts = [high ? `${high} high priority` : '', overdue ? `${overdue} overdue` : '', snoozed ? `${snoozed} snoozed` : ''].filter(Boolean);
  const lines = data.flatMap((t) => [...taskBlock(t, o), '']);
  lines.push(`${data.length} ${what}${data.length === 1 ? '' : 's'}${facts.length ? ` (${facts.join(', ')})` : ''}`);
  return { data, text: lines.join('\n') };
}

function historyLines(entries: readonly unknown[], o: ViewOptions): string[] {
  return entries.map((raw) => {
    const h = raw as Partial<HistoryEntry>;
    const at = h.at ? formatInstant(new Date(h.at), o.zone) : '?';
    const data = h.data && Object.keys(h.data).length ? ` ${truncate(JSON.stringify(h.data), 80)}` : '';
    return `  ${at}  ${h.type ?? '?'}${h.stepId ? ` (step ${h.stepId})` : ''}${data}`;
  });
}

function flagsText(f: TaskDetail['contact']['flags'], o: ViewOptions): string[] {
  const when = (d: string) => formatInstant(new Date(d), o.zone);
  return [
    f.phoneBadAt ? `PHONE MARKED WRONG ${when(f.phoneBadAt)}` : '',
    f.addressBadAt ? `ADDRESS MARKED BAD (mail returned) ${when(f.addressBadAt)}` : '',
    f.unsubscribedAt ? `unsubscribed ${when(f.unsubscribedAt)}` : '',
    f.bouncedAt ? `email bounced ${when(f.bouncedAt)}` : '',
    f.pausedAt ? `paused ${when(f.pausedAt)}` : '',
  ].filter(Boolean);
}

function activityLines(data: TaskDetail, o: ViewOptions): string[] {
  return data.activity.map((a) => {
    const detail = a.action === 'snoozed' && typeof a.detail['until'] === 'string' ? ` until ${formatInstant(new Date(a.detail['until']), o.zone)}` : '';
    const to = a.action === 'reassigned' ? reassignedTo(a.detail) : '';
    return `  ${formatInstant(new Date(a.at), o.zone)}  ${a.action}${detail}${to} by ${a.actor}${a.reason ? `: ${a.reason}` : ''}`;
  });
}

function reassignedTo(detail: Record<string, unknown>): string {
  const to = detail['to'] as { assignee?: unknown; team?: unknown } | undefined;
  if (!to) return '';
  if (typeof to.assignee === 'string') return ` to ${to.assignee}`;
  return typeof to.team === 'string' ? ` to team ${to.team}'s queue` : '';
}

export async function showTask(db: ReadDb, id: number, o: ViewOptions): Promise<Rendered<TaskDetail>> {
  const data = await taskDetail(db, id, o.now);
  const t = data;
  const recent = data.recentHistory;
  const lines = [`Task #${t.id}: ${t.title}`];
  const field = (label: string, value: string) => lines.push(`  ${label.padEnd(11)}${value}`);
  field('kind', `${t.kind}${t.priority === 'high' ? ' (high priority)' : ''}`);
  // A cancellation's outcome already says "cancelled: <why>"; a done task's is what happened.
  const outcome = t.outcome && t.outcome !== t.status ? (t.outcome.startsWith(t.status) ? t.outcome.slice(t.status.length).replace(/^:\s*/, ': ') : ` (${t.outcome})`) : '';
  field('status', t.status + (t.completedAt ? ` ${formatInstant(new Date(t.completedAt), o.zone)}` : '') + outcome);
  field('due', dueText(t, o).replace(/^due /, ''));
  const sla = slaText(t, o);
  if (sla) field('sla', sla.replace(/^SLA /, ''));
  field('held by', placementText(t) ?? 'nobody yet (not placed in a queue)');
  if (t.assignmentReason) field('why', t.assignmentReason);
  field('created', formatInstant(new Date(t.createdAt), o.zone));
  field('contact', `${who(t.contact)}${t.contact.status ? ` (${t.contact.status})` : ''}${t.contact.owner ? `, owner ${t.contact.owner}` : ''}`);
  field('phone', t.contact.phone ?? t.phone ?? '-');
  field('address', formatAddress(t.contact.address ?? t.address) ?? '-');
  const flags = flagsText(t.contact.flags, o);
  if (flags.length) field('flags', flags.join('; '));
  if (t.contact.timezone) field('zone', t.contact.timezone);
  if (t.note) field('note', t.note);
  const c = data.content;
  if (c) {
    lines.push('', `Piece${typeof c['template'] === 'string' ? ` (template ${c['template']})` : ''}`);
    if (typeof c['subject'] === 'string' && c['subject']) lines.push(`  Subject: ${c['subject']}`);
    if (typeof c['text'] === 'string') lines.push(...c['text'].split('\n').map((l) => `  ${l}`.trimEnd()));
  }
  lines.push('', `Activity (${data.activity.length}, oldest first)`, ...activityLines(data, o));
  lines.push(
    '',
    `Recent touches (${data.touches.length}, newest first)`,
    ...data.touches.map((x) => {
      const when = formatInstant(new Date(x.sentAt ?? x.dueAt), o.zone);
      const seen = [x.firstOpenedAt ? 'opened' : '', x.firstClickedAt ? 'clicked' : ''].filter(Boolean).join(', ');
      return `  ${when}  ${x.kind.padEnd(8)} ${x.status.padEnd(9)} ${truncate(x.subject ?? x.template ?? x.stepId, 60)}${seen ? ` (${seen})` : ''}`;
    }),
  );
  const engagement = (label: string, list: TaskDetail['opens']) => [
    '',
    `${label} (${list.length}, newest first)`,
    ...list.map((e) => `  ${formatInstant(new Date(e.at), o.zone)}  ${truncate(e.subject ?? e.stepId ?? '?', 60)}${e.url ? `  ${truncate(e.url, 80)}` : ''}`),
  ];
  lines.push(...engagement('Opens', data.opens), ...engagement('Clicks', data.clicks));
  lines.push('', `History when the task was made (${data.history.length})`, ...historyLines(data.history, o));
  lines.push('', `Recent history (${recent.length}, newest first)`, ...historyLines(recent, o));
  return { data, text: lines.join('\n') };
}

export interface TaskDoneReport {
  task: TaskItem;
  outcome: string;
  alreadyDone: boolean;
  appointment: CompleteTaskResult['appointment'];
  promoted: boolean;
  contactStatus: Stage;
  endedEnrollments: string[];
  leadTask: { id: number; dueAt: string } | null;
  effects: CompleteTaskResult['effects'];
  completion: CompleteTaskResult['completion'];
  cancelledTaskIds: number[];
  addressMarkedBad: boolean;
  phoneMarkedBad: boolean;
  createdTasks: CompleteTaskResult['createdTasks'];
}

export async function runTaskDone(ctx: AppContext, id: number, outcome: string, o: ViewOptions, opts: CompleteTaskOptions = {}): Promise<Rendered<TaskDoneReport>> {
  const r = await completeTask(ctx, id, outcome, o.now, opts);
  const task = await taskById(ctx.deps.db, id);
  if (!task) throw new InternalError(`task ${id} was completed but cannot be read back`);
  const data: TaskDoneReport = {
    task,
    outcome: r.outcome,
    alreadyDone: r.alreadyDone,
    appointment: r.appointment,
    promoted: r.promoted,
    contactStatus: r.contactStatus,
    endedEnrollments: r.endedEnrollments,
    leadTask: r.leadTask ? { id: r.leadTask.id, dueAt: r.leadTask.due_at.toISOString() } : null,
    effects: r.effects,
    completion: r.completion,
    cancelledTaskIds: r.cancelledTaskIds,
    addressMarkedBad: r.addressMarkedBad,
    phoneMarkedBad: r.phoneMarkedBad,
    createdTasks: r.createdTasks,
  };
  const out = r.task.outcome ?? r.outcome;
  let text = r.alreadyDone ? `task ${id} was already done (${out})` : `task ${id} done (${out})`;
  const email = r.contactEmail;
  const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;
  if (r.appointment === 'applied' && r.promoted) {
    const ended = r.endedEnrollments.length ? `nurture ended (${plural(r.endedEnrollments.length, 'sequence')})` : 'nurture ended';
    const lead = r.leadTask ? `; call task ${r.leadTask.id} created, due ${shortTime(r.leadTask, o)}` : '';
    text += `: ${email} is now a lead; ${ended}${lead}`;
  } else if (r.appointment === 'applied') {
    text +=
      r.contactStatus === 'lead'
        ? `: appointment request recorded; ${email} was already a lead`
        : `: appointment request recorded; ${email} stays a subscriber (appointment_requested is not in NURTURE_PROMOTE_ON)`;
  } else if (r.appointment === 'duplicate') {
    text += ': its appointment request was applied before; nothing changed';
  } else if (r.alreadyDone) {
    text += r.completion.status === 'applied' ? `: its task_completed event had not gone through; applied now` : '; nothing changed';
  }
  // What the outcome did besides completing the task (only on the run that did it).
  const did: string[] = [];
  if (r.effects.markAddressBad && !r.alreadyDone) {
    did.push(r.addressMarkedBad ? `${email}'s postal address is marked returned: no more postcards or letters` : `${email}'s postal address was already marked returned`);
  }
  if (r.effects.markPhoneBad && !r.alreadyDone) {
    did.push(r.phoneMarkedBad ? `${email}'s phone number is marked wrong` : `${email}'s phone number was already marked wrong`);
  }
  if (r.effects.endNurture && !r.alreadyDone) {
    did.push(r.endedEnrollments.length ? `nurture ended for ${email} (${plural(r.endedEnrollments.length, 'sequence')}, not_interested)` : `${email} was in no sequence`);
  }
  if (r.cancelledTaskIds.length) did.push(`${plural(r.cancelledTaskIds.length, 'open task')} cancelled (${r.cancelledTaskIds.map((t) => `#${t}`).join(', ')})`);
  const made = r.createdTasks.filter((t) => t.id !== r.leadTask?.id);
  if (made.length) did.push(`a sequence reacting to it created ${made.map((t) => `${t.kind} task ${t.id}`).join(', ')}`);
  if (did.length) text += `\n  ${did.join('\n  ')}`;
  return { data, text };
}

/** "10:42 (in 1 h)" on the same day, else with the date. */
function shortTime(t: { due_at: Date }, o: ViewOptions): string {
  const due = o.zone ? DateTime.fromJSDate(t.due_at, { zone: o.zone }) : DateTime.fromJSDate(t.due_at);
  const today = o.zone ? o.now.setZone(o.zone) : o.now.toLocal();
  const when = due.hasSame(today, 'day') ? due.toFormat('HH:mm') : due.toFormat('yyyy-LL-dd HH:mm ZZZZ');
  return `${when} (${relativeTime(t.due_at, o.now)})`;
}

export function register(program: Command): void {
  const tasks = program
    .command('tasks')
    .description('postcards, letters and calls for staff: list, show, claim, snooze, reassign, skip, complete')
    .addHelpText(
      'after',
      '\n"nurture tasks [flags]" is "nurture tasks list [flags]": see nurture tasks list --help for --kind, --status, --due-before, --contact, --assignee, --team, --mine, --limit, --json.',
    );
  // claim, snooze, reassign, skip: first in the help, and apart from the done command's code.
  registerTaskWork(tasks);
  const list = tasks
    .command('list', { isDefault: true })
    .description('open tasks in working order: SLA deadline, then high priority, then due time; snoozed ones last (the default)')
    .option('--kind <kind>', TASK_KINDS.join(', '))
    .option('--status <status>', `${TASK_STATUSES.join(', ')} (default open)`)
    .option('--due-before <when>', 'ISO date/time, today, tomorrow, or a duration like "3 days"')
    .option('--contact <email>', 'only this contact')
    .option('--assignee <email>', 'only tasks this staff user holds ("none": tasks nobody holds)')
    .option('--team <name>', "only this team's tasks (held or waiting in its queue)")
    .option('--mine <email>', "this user's queue: what they hold, and their teams' unclaimed tasks (reads --directory)")
    .option('--limit <n>', 'at most this many', '200');
  addDirectoryOption(list)
    .option('--json', 'print JSON, with the rendered pieces and call history')
    .action(
      action(async (f: TaskFlags & { directory: string; json?: boolean }) => {
        const directory = f.mine === undefined ? undefined : await requiredTeamDirectory(f.directory, '--mine');
        const opts = parseTaskFlags(f, { now: DateTime.now() }, directory);
        emit(await withReadDb(config(), (db) => listTasksView(db, opts)), f.json);
      }),
    );
  tasks
    .command('show')
    .description('one task: the piece to print or the call to make, and the contact history')
    .argument('<id>', 'task id')
    .option('--json', 'print JSON')
    .action(
      action(async (idText: string, f: { json?: boolean }) => {
        const id = parseTaskId(idText);
        emit(await withReadDb(config(), (db) => showTask(db, id, { now: DateTime.now() })), f.json);
      }),
    );
  tasks
    .command('done')
    .description('complete a task with one of its declared outcomes; appointment_booked makes the contact a lead')
    .argument('<id>', 'task id')
    .requiredOption('--outcome <outcome>', `what happened: ${TASK_KINDS.map((k) => `${k}: ${outcomesFor(k).join(', ')}`).join('; ')} (or those team.yaml declares)`)
    .option('--note <text>', 'what you want remembered about it (stored with the task activity)')
    .option('--templates <dir>', 'directory of templates (for pieces a new sequence may render)', './templates')
    .option('--json', 'print JSON')
    .action(
      action(async (idText: string, f: { outcome: string; note?: string; templates: string; json?: boolean }) => {
        const id = parseTaskId(idText);
        if (f.outcome.trim() === '') throw new InputError(`--outcome: say what happened, e.g. --outcome no_answer (${TASK_KINDS.map((k) => `${k}: ${outcomesFor(k).join(', ')}`).join('; ')})`);
        const result = await withApp(config(), (app) => runTaskDone(app, id, f.outcome, { now: DateTime.now() }, { actor: 'cli', note: f.note }), { templatesDir: f.templates });
        emit(result, f.json);
      }),
    );
}
