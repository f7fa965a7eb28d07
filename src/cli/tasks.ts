import type { Command } from 'commander';
import type { Kysely } from 'kysely';
import { DateTime } from 'luxon';
import { findContactByEmail } from '../db/contact-repository.js';
import { recentHistory } from '../db/event-repository.js';
import type { Database, TaskKind, TaskStatus } from '../db/schema.js';
import type { TaskListing, TaskRow } from '../db/task-repository.js';
import { findTask, listTasks } from '../db/task-repository.js';
import type { EngineDeps } from '../engine/commit-advance.js';
import type { CompleteTaskResult } from '../engine/complete-task.js';
import { completeTask } from '../engine/complete-task.js';
import { SequenceRegistry } from '../engine/sequence-registry.js';
import { ConfigError, NotFoundError } from '../errors.js';
import type { HistoryEntry } from '../sequences/conditions.js';
import type { Stage } from '../sequences/stage.js';
import { TemplateCache } from '../templates/compile.js';
import type { ViewOptions } from './contacts.js';
import type { Rendered } from './format.js';
import { requireContact } from './contacts.js';
import { emit, formatAddress, formatInstant, iso, parseChoice, parseInstant, parseLimit, relativeTime, truncate } from './format.js';
import { action, config } from './shared.js';
import { withStore } from './with-store.js';

/** `nurture tasks [list]`, `nurture tasks show ID`, `nurture tasks done ID --outcome TEXT`. */

export const TASK_KINDS: readonly TaskKind[] = ['postcard', 'letter', 'call', 'notice'];
export const TASK_STATUSES: readonly (TaskStatus | 'all')[] = ['open', 'done', 'cancelled', 'all'];

export interface TaskFlags {
  kind?: string | undefined;
  status?: string | undefined;
  dueBefore?: string | undefined;
  contact?: string | undefined;
  limit?: string | undefined;
}

export interface TaskListOptions extends ViewOptions {
  kind?: TaskKind | undefined;
  status?: TaskStatus | 'all' | undefined;
  dueBefore?: Date | undefined;
  contactEmail?: string | undefined;
  limit?: number | undefined;
}

/** Turns the flags into list options; every bad flag is a ConfigError naming the flag. */
export function parseTaskFlags(f: TaskFlags, view: ViewOptions): TaskListOptions {
  return {
    ...view,
    kind: parseChoice('--kind', f.kind, TASK_KINDS),
    status: parseChoice('--status', f.status, TASK_STATUSES) ?? 'open',
    dueBefore: f.dueBefore === undefined ? undefined : parseInstant('--due-before', f.dueBefore, view.now, 'ahead', view.zone),
    contactEmail: f.contact,
    limit: parseLimit(f.limit, 200),
  };
}

export function parseTaskId(value: string): number {
  const id = Number(value.replace(/^#/, ''));
  if (!/^#?\d+$/.test(value.trim()) || !Number.isSafeInteger(id) || id < 1) {
    throw new ConfigError(`task id "${value}" is not a number (the ID column of: nurture tasks)`);
  }
  return id;
}

export interface TaskItem {
  id: number;
  kind: TaskKind;
  priority: 'normal' | 'high';
  status: TaskStatus;
  title: string;
  note: string | null;
  dueAt: string;
  createdAt: string;
  completedAt: string | null;
  outcome: string | null;
  contact: { email: string; name: string | null };
  phone: string | null;
  address: Record<string, unknown> | null;
  /** The rendered piece (subject, html, text) for postcards and letters; null otherwise. */
  content: Record<string, unknown> | null;
  /** The contact's events when the task was made, for calls; null otherwise. */
  history: unknown[] | null;
  enrollmentId: string | null;
  touchId: string | null;
}

function taskItem(t: TaskListing): TaskItem {
  const mail = t.kind === 'postcard' || t.kind === 'letter';
  return {
    id: t.id,
    kind: t.kind,
    priority: t.priority,
    status: t.status,
    title: t.title,
    note: t.note,
    dueAt: t.due_at.toISOString(),
    createdAt: t.created_at.toISOString(),
    completedAt: iso(t.completed_at),
    outcome: t.outcome,
    contact: { email: t.email, name: [t.first_name, t.last_name].filter(Boolean).join(' ') || null },
    phone: t.phone,
    address: t.address ?? null,
    content: mail ? (t.content ?? null) : null,
    history: t.kind === 'call' ? (t.history ?? []) : null,
    enrollmentId: t.enrollment_id,
    touchId: t.touch_id,
  };
}

function dueText(t: TaskItem, o: ViewOptions): string {
  const due = new Date(t.dueAt);
  const abs = formatInstant(due, o.zone);
  if (t.status !== 'open') return `due ${abs}`;
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
  if (t.note) lines.push(`      ${truncate(t.note, 200)}`);
  return lines;
}

export async function listTasksView(db: Kysely<Database>, o: TaskListOptions): Promise<Rendered<TaskItem[]>> {
  const contactId = o.contactEmail === undefined ? undefined : (await requireContact(db, o.contactEmail)).id;
  const rows = await listTasks(db, { kind: o.kind, status: o.status ?? 'open', dueBefore: o.dueBefore, contactId, limit: o.limit ?? 200 });
  const data = rows.map(taskItem);
  const status = o.status ?? 'open';
  const what = `${status === 'all' ? '' : `${status} `}${o.kind ? `${o.kind} ` : ''}task`;
  if (data.length === 0) return { data, text: `no ${what}s${o.dueBefore ? ` due before ${formatInstant(o.dueBefore, o.zone)}` : ''}` };
  const high = data.filter((t) => t.priority === 'high').length;
  const overdue = data.filter((t) => t.status === 'open' && Date.parse(t.dueAt) < o.now.toMillis()).length;
  const facts = [high ? `${high} high priority` : '', overdue ? `${overdue} overdue` : ''].filter(Boolean);
  const lines = data.flatMap((t) => [...taskBlock(t, o), '']);
  lines.push(`${data.length} ${what}${data.length === 1 ? '' : 's'}${facts.length ? ` (${facts.join(', ')})` : ''}`);
  return { data, text: lines.join('\n') };
}

export interface TaskDetail extends TaskItem {
  contact: { email: string; name: string | null; status: Stage | null; timezone: string | null };
  /** Always the stored piece, whatever the kind. */
  content: Record<string, unknown> | null;
  /** The contact's events when the task was made. */
  history: unknown[];
  /** The contact's latest events now, newest first. */
  recentHistory: HistoryEntry[];
}

function historyLines(entries: readonly unknown[], o: ViewOptions): string[] {
  return entries.map((raw) => {
    const h = raw as Partial<HistoryEntry>;
    const at = h.at ? formatInstant(new Date(h.at), o.zone) : '?';
    const data = h.data && Object.keys(h.data).length ? ` ${truncate(JSON.stringify(h.data), 80)}` : '';
    return `  ${at}  ${h.type ?? '?'}${h.stepId ? ` (step ${h.stepId})` : ''}${data}`;
  });
}

export async function showTask(db: Kysely<Database>, id: number, o: ViewOptions): Promise<Rendered<TaskDetail>> {
  const t = await findTask(db, id);
  if (!t) throw new NotFoundError(`no task with id ${id} (list tasks with: nurture tasks --status all)`);
  const contact = await findContactByEmail(db, t.email);
  const recent = await recentHistory(db, t.contact_id, 20);
  const item = taskItem(t);
  const data: TaskDetail = {
    ...item,
    contact: { ...item.contact, status: contact?.status ?? null, timezone: contact?.timezone ?? null },
    content: t.content ?? null,
    history: t.history ?? [],
    recentHistory: recent,
  };
  const lines = [`Task #${t.id}: ${t.title}`];
  const field = (label: string, value: string) => lines.push(`  ${label.padEnd(11)}${value}`);
  field('kind', `${t.kind}${t.priority === 'high' ? ' (high priority)' : ''}`);
  field('status', t.status + (t.completed_at ? ` ${formatInstant(t.completed_at, o.zone)}` : '') + (t.outcome ? ` (${t.outcome})` : ''));
  field('due', dueText(item, o).replace(/^due /, ''));
  field('created', formatInstant(t.created_at, o.zone));
  field('contact', `${who(item.contact)}${contact ? ` (${contact.status})` : ''}`);
  field('phone', t.phone ?? '-');
  field('address', formatAddress(t.address) ?? '-');
  if (t.note) field('note', t.note);
  const c = data.content;
  if (c) {
    lines.push('', `Piece${typeof c['template'] === 'string' ? ` (template ${c['template']})` : ''}`);
    if (typeof c['subject'] === 'string' && c['subject']) lines.push(`  Subject: ${c['subject']}`);
    if (typeof c['text'] === 'string') lines.push(...c['text'].split('\n').map((l) => `  ${l}`.trimEnd()));
  }
  lines.push('', `History when the task was made (${data.history.length})`, ...historyLines(data.history, o));
  lines.push('', `Recent history (${recent.length}, newest first)`, ...historyLines(recent, o));
  return { data, text: lines.join('\n') };
}

export interface TaskDoneReport {
  task: TaskItem;
  alreadyDone: boolean;
  appointment: CompleteTaskResult['appointment'];
  promoted: boolean;
  contactStatus: Stage;
  endedEnrollments: string[];
  leadTask: { id: number; dueAt: string } | null;
}

export async function runTaskDone(deps: EngineDeps, id: number, outcome: string, o: ViewOptions): Promise<Rendered<TaskDoneReport>> {
  const r = await completeTask(deps, id, outcome, o.now);
  const t = await findTask(deps.db, id);
  const data: TaskDoneReport = {
    task: t ? taskItem(t) : taskItem({ ...r.task, email: r.contactEmail, first_name: null, last_name: null }),
    alreadyDone: r.alreadyDone,
    appointment: r.appointment,
    promoted: r.promoted,
    contactStatus: r.contactStatus,
    endedEnrollments: r.endedEnrollments,
    leadTask: r.leadTask ? { id: r.leadTask.id, dueAt: r.leadTask.due_at.toISOString() } : null,
  };
  const out = r.task.outcome ?? outcome.trim();
  let text = r.alreadyDone ? `task ${id} was already done (${out})` : `task ${id} done (${out})`;
  const email = r.contactEmail;
  if (r.appointment === 'applied' && r.promoted) {
    const ended = r.endedEnrollments.length ? `nurture ended (${r.endedEnrollments.length} sequence${r.endedEnrollments.length === 1 ? '' : 's'})` : 'nurture ended';
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
    text += '; nothing changed';
  }
  return { data, text };
}

/** "10:42 (in 1 h)" on the same day, else with the date. */
function shortTime(t: TaskRow, o: ViewOptions): string {
  const due = o.zone ? DateTime.fromJSDate(t.due_at, { zone: o.zone }) : DateTime.fromJSDate(t.due_at);
  const today = o.zone ? o.now.setZone(o.zone) : o.now.toLocal();
  const when = due.hasSame(today, 'day') ? due.toFormat('HH:mm') : due.toFormat('yyyy-LL-dd HH:mm ZZZZ');
  return `${when} (${relativeTime(t.due_at, o.now)})`;
}

export function register(program: Command): void {
  const tasks = program
    .command('tasks')
    .description('postcards, letters and calls for staff: list, show, complete')
    .addHelpText('after', '\n"nurture tasks [flags]" is "nurture tasks list [flags]": see nurture tasks list --help for --kind, --status, --due-before, --contact, --limit, --json.');
  tasks
    .command('list', { isDefault: true })
    .description('tasks, high priority first, then by due time (the default)')
    .option('--kind <kind>', TASK_KINDS.join(', '))
    .option('--status <status>', `${TASK_STATUSES.join(', ')} (default open)`)
    .option('--due-before <when>', 'ISO date/time, today, tomorrow, or a duration like "3 days"')
    .option('--contact <email>', 'only this contact')
    .option('--limit <n>', 'at most this many', '200')
    .option('--json', 'print JSON, with the rendered pieces and call history')
    .action(
      action(async (f: TaskFlags & { json?: boolean }) => {
        const opts = parseTaskFlags(f, { now: DateTime.now() });
        emit(await withStore(config(), (store) => listTasksView(store.db, opts)), f.json);
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
        emit(await withStore(config(), (store) => showTask(store.db, id, { now: DateTime.now() })), f.json);
      }),
    );
  tasks
    .command('done')
    .description('complete a task; a call outcome like appointment_booked makes the contact a lead')
    .argument('<id>', 'task id')
    .requiredOption('--outcome <text>', 'what happened, e.g. appointment_booked, left_voicemail, mailed')
    .option('--templates <dir>', 'directory of templates (for pieces a new sequence may render)', './templates')
    .option('--json', 'print JSON')
    .action(
      action(async (idText: string, f: { outcome: string; templates: string; json?: boolean }) => {
        const id = parseTaskId(idText);
        if (f.outcome.trim() === '') throw new ConfigError('--outcome: say what happened, e.g. --outcome appointment_booked');
        const cfg = config();
        const result = await withStore(cfg, async (store) => {
          const registry = new SequenceRegistry(store.db);
          await registry.refresh();
          const deps: EngineDeps = { db: store.db, registry, templates: new TemplateCache(f.templates), config: cfg };
          return runTaskDone(deps, id, f.outcome, { now: DateTime.now() });
        });
        emit(result, f.json);
      }),
    );
}
