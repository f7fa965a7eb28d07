import { findContactByEmail } from '../db/contact-repository.js';
import { recentHistory } from '../db/event-repository.js';
import type { TaskKind, TaskStatus } from '../db/schema.js';
import type { TaskListing } from '../db/task-repository.js';
import { findTask, listTasks } from '../db/task-repository.js';
import { NotFoundError } from '../errors.js';
import type { HistoryEntry } from '../sequences/conditions.js';
import type { Stage } from '../sequences/stage.js';
import { requireContact } from './contact-timeline.js';
import { iso } from './durations.js';
import type { ReadDb } from './read-db.js';

/** Staff tasks (postcards, letters, calls, notices) as the CLI and the inbox show them: plain data. */

export type { TaskKind, TaskStatus };
export const TASK_KINDS: readonly TaskKind[] = ['postcard', 'letter', 'call', 'notice'];
export const TASK_STATUSES: readonly (TaskStatus | 'all')[] = ['open', 'done', 'cancelled', 'all'];

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
  /** The contact's phone reached someone else (a call's `wrong_number`): check it before calling. */
  phoneBad: boolean;
  /** A piece to the contact's address came back (`returned`): no more mail goes there. */
  addressBad: boolean;
  /** The rendered piece (subject, html, text) for postcards and letters; null otherwise. */
  content: Record<string, unknown> | null;
  /** The contact's events when the task was made, for calls; null otherwise. */
  history: unknown[] | null;
  enrollmentId: string | null;
  touchId: string | null;
}

export function taskItem(t: TaskListing): TaskItem {
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
    phoneBad: t.phone_bad_at !== null,
    addressBad: t.address_bad_at !== null,
    content: mail ? (t.content ?? null) : null,
    history: t.kind === 'call' ? (t.history ?? []) : null,
    enrollmentId: t.enrollment_id,
    touchId: t.touch_id,
  };
}

export interface TaskFilter {
  kind?: TaskKind | undefined;
  status?: TaskStatus | 'all' | undefined;
  dueBefore?: Date | undefined;
  contactEmail?: string | undefined;
  limit?: number | undefined;
}

/** High priority first, then by due time. */
export async function taskList(db: ReadDb, f: TaskFilter): Promise<TaskItem[]> {
  const contactId = f.contactEmail === undefined ? undefined : (await requireContact(db, f.contactEmail)).id;
  const rows = await listTasks(db, { kind: f.kind, status: f.status ?? 'open', dueBefore: f.dueBefore, contactId, limit: f.limit ?? 200 });
  return rows.map(taskItem);
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

export async function taskDetail(db: ReadDb, id: number): Promise<TaskDetail> {
  const t = await findTask(db, id);
  if (!t) throw new NotFoundError(`no task with id ${id} (list tasks with: nurture tasks --status all)`);
  const contact = await findContactByEmail(db, t.email);
  const item = taskItem(t);
  return {
    ...item,
    contact: { ...item.contact, status: contact?.status ?? null, timezone: contact?.timezone ?? null },
    content: t.content ?? null,
    history: t.history ?? [],
    recentHistory: await recentHistory(db, t.contact_id, 20),
  };
}

/** One task by id, as a list item (null when there is none). */
export async function taskById(db: ReadDb, id: number): Promise<TaskItem | null> {
  const t = await findTask(db, id);
  return t ? taskItem(t) : null;
}
