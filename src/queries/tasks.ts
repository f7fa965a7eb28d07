import type { DateTime } from 'luxon';
import { findContactByEmail } from '../db/contact-repository.js';
import { recentHistory } from '../db/event-repository.js';
import type { TaskKind, TaskStatus } from '../db/schema.js';
import { taskActivity } from '../db/task-activity-repository.js';
import { engagementOf, listTaskQueue, recentTouchesOf } from '../db/task-queue-repository.js';
import type { TaskListing } from '../db/task-repository.js';
import { findTask } from '../db/task-repository.js';
import { NotFoundError } from '../errors.js';
import type { HistoryEntry } from '../sequences/conditions.js';
import type { Stage } from '../sequences/stage.js';
import { requireContact } from './contact-timeline.js';
import { iso } from './durations.js';
import type { ReadDb } from './read-db.js';

/** Staff tasks (postcards, letters, calls, notices) as the CLI and the inbox show them: plain data. */

export type { TaskKind, TaskStatus };
export const TASK_KINDS: readonly TaskKind[] = ['postcard', 'letter', 'call', 'notice'];
export const TASK_STATUSES: readonly (TaskStatus | 'all')[] = ['open', 'done', 'cancelled', 'skipped', 'all'];

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
  /** The staff user holding it (an email of team.yaml); null: nobody (in `team`'s queue, or not placed yet). */
  assignee: string | null;
  team: string | null;
  /** Why it went where it is ("round-robin in team sales ...", "claimed from team sales's queue"). */
  assignmentReason: string | null;
  /** When it was placed; null: no assignment decision was made yet. */
  assignedAt: string | null;
  /** When its holder took it from the queue themselves. */
  claimedAt: string | null;
  /** Not due before this (a snooze); it may lie in the past, when the snooze is over. */
  snoozedUntil: string | null;
  /** The speed-to-lead deadline; null: no SLA. */
  slaDueAt: string | null;
  slaBreachedAt: string | null;
  firstAttemptAt: string | null;
  firstConnectedAt: string | null;
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
    assignee: t.assignee,
    team: t.team,
    assignmentReason: t.assignment_reason,
    assignedAt: iso(t.assigned_at),
    claimedAt: iso(t.claimed_at),
    snoozedUntil: iso(t.snoozed_until),
    slaDueAt: iso(t.sla_due_at),
    slaBreachedAt: iso(t.breached_at),
    firstAttemptAt: iso(t.first_attempt_at),
    firstConnectedAt: iso(t.first_connected_at),
  };
}

/** Snoozed at `now`: put out of the way until a later time. */
export function isSnoozed(t: Pick<TaskItem, 'snoozedUntil'>, now: DateTime): boolean {
  return t.snoozedUntil !== null && Date.parse(t.snoozedUntil) > now.toMillis();
}

/** When the task is due, a snooze counted: the later of its due time and its snooze's end. */
export function effectiveDueAt(t: Pick<TaskItem, 'dueAt' | 'snoozedUntil'>): string {
  return t.snoozedUntil !== null && Date.parse(t.snoozedUntil) > Date.parse(t.dueAt) ? t.snoozedUntil : t.dueAt;
}

/** Open, not snoozed, and past its (effective) due time. */
export function isOverdue(t: Pick<TaskItem, 'status' | 'dueAt' | 'snoozedUntil'>, now: DateTime): boolean {
  return t.status === 'open' && Date.parse(effectiveDueAt(t)) < now.toMillis();
}

export interface TaskFilter {
  kind?: TaskKind | undefined;
  status?: TaskStatus | 'all' | undefined;
  /** Due (a snooze counted) at or before this. */
  dueBefore?: Date | undefined;
  contactEmail?: string | undefined;
  /** A staff email (matched lower-cased), or null: tasks nobody holds. */
  assignee?: string | null | undefined;
  team?: string | undefined;
  /** A user's queue: what they hold, and what nobody holds in their teams' queues. */
  mine?: { email: string; teams: readonly string[] } | undefined;
  limit?: number | undefined;
  /** Decides which snoozes still run. */
  now: DateTime;
}

/**
 * Tasks in the order staff should work them: by SLA deadline (soonest first, none last), then
 * high priority, then due time; snoozed tasks after all the others.
 */
export async function taskList(db: ReadDb, f: TaskFilter): Promise<TaskItem[]> {
  const contactId = f.contactEmail === undefined ? undefined : (await requireContact(db, f.contactEmail)).id;
  const rows = await listTaskQueue(db, {
    kind: f.kind,
    status: f.status ?? 'open',
    dueBefore: f.dueBefore,
    contactId,
    assignee: typeof f.assignee === 'string' ? f.assignee.trim().toLowerCase() : f.assignee,
    team: f.team,
    mine: f.mine ? { email: f.mine.email.trim().toLowerCase(), teams: f.mine.teams } : undefined,
    now: f.now.toJSDate(),
    limit: f.limit ?? 200,
  });
  return rows.map(taskItem);
}

export interface TaskContactDetail {
  email: string;
  name: string | null;
  status: Stage | null;
  timezone: string | null;
  /** As the contact is now (the task's own phone and address are as they were when it was made). */
  phone: string | null;
  address: Record<string, unknown> | null;
  /** The contact's fixed owner (a staff email), if any. */
  owner: string | null;
  /** What staff must know before calling or mailing: each is when it became so, or null. */
  flags: {
    addressBadAt: string | null;
    phoneBadAt: string | null;
    unsubscribedAt: string | null;
    bouncedAt: string | null;
    pausedAt: string | null;
  };
}

export interface TaskTouchView {
  id: string;
  kind: string;
  sequenceId: string | null;
  stepId: string;
  template: string | null;
  status: string;
  subject: string | null;
  dueAt: string;
  sentAt: string | null;
  firstOpenedAt: string | null;
  firstClickedAt: string | null;
}

export interface TaskEngagement {
  at: string;
  touchId: string | null;
  subject: string | null;
  sequenceId: string | null;
  stepId: string | null;
  /** For a click: the link followed. */
  url: string | null;
}

/** What happened to the task, with who (a staff email, `cli`, `system`) and why. */
export interface TaskActivityView {
  at: string;
  actor: string;
  action: string;
  reason: string | null;
  detail: Record<string, unknown>;
}

export interface TaskDetail extends TaskItem {
  contact: TaskContactDetail;
  /** Always the stored piece, whatever the kind. */
  content: Record<string, unknown> | null;
  /** The contact's events when the task was made. */
  history: unknown[];
  /** The contact's latest events now, newest first. */
  recentHistory: HistoryEntry[];
  /** The contact's latest touches, newest first (with `now` given: sent or due by then). */
  touches: TaskTouchView[];
  /** Latest opens and clicks of the contact's emails, newest first. */
  opens: TaskEngagement[];
  clicks: TaskEngagement[];
  /** The task's note is `note`; this is everything staff and the engine did with it, oldest first. */
  activity: TaskActivityView[];
}

const RECENT = 10;

/** One task for `tasks show` and the inbox; with `now`, the touches still ahead are left out of `touches`. */
export async function taskDetail(db: ReadDb, id: number, now?: DateTime): Promise<TaskDetail> {
  const t = await findTask(db, id);
  if (!t) throw new NotFoundError(`no task with id ${id} (list tasks with: nurture tasks --status all)`);
  const contact = await findContactByEmail(db, t.email);
  const item = taskItem(t);
  const engagement = (rows: Awaited<ReturnType<typeof engagementOf>>): TaskEngagement[] =>
    rows.map((e) => ({
      at: e.occurred_at.toISOString(),
      touchId: e.touch_id,
      subject: e.subject ?? null,
      sequenceId: e.sequence_id ?? null,
      stepId: e.step_id ?? null,
      url: typeof e.data?.['url'] === 'string' ? e.data['url'] : null,
    }));
  return {
    ...item,
    contact: {
      ...item.contact,
      status: contact?.status ?? null,
      timezone: contact?.timezone ?? null,
      phone: contact?.phone ?? null,
      address: contact?.address ?? null,
      owner: contact?.owner ?? null,
      flags: {
        addressBadAt: iso(contact?.address_bad_at),
        phoneBadAt: iso(contact?.phone_bad_at),
        unsubscribedAt: iso(contact?.unsubscribed_at),
        bouncedAt: iso(contact?.bounced_at),
        pausedAt: iso(contact?.paused_at),
      },
    },
    content: t.content ?? null,
    history: t.history ?? [],
    recentHistory: await recentHistory(db, t.contact_id, 20),
    touches: (await recentTouchesOf(db, t.contact_id, RECENT, now?.toJSDate())).map((x) => ({
      id: x.id,
      kind: x.kind,
      sequenceId: x.sequence_id,
      stepId: x.step_id,
      template: x.template,
      status: x.status,
      subject: x.subject,
      dueAt: x.due_at.toISOString(),
      sentAt: iso(x.sent_at),
      firstOpenedAt: x.first_opened_at ? new Date(x.first_opened_at).toISOString() : null,
      firstClickedAt: x.first_clicked_at ? new Date(x.first_clicked_at).toISOString() : null,
    })),
    opens: engagement(await engagementOf(db, t.contact_id, 'email_opened', RECENT)),
    clicks: engagement(await engagementOf(db, t.contact_id, 'email_clicked', RECENT)),
    activity: (await taskActivity(db, id)).map((a) => ({ at: a.at.toISOString(), actor: a.actor, action: a.action, reason: a.reason, detail: a.detail ?? {} })),
  };
}

/** One task by id, as a list item (null when there is none). */
export async function taskById(db: ReadDb, id: number): Promise<TaskItem | null> {
  const t = await findTask(db, id);
  return t ? taskItem(t) : null;
}
