import type { TaskKind, TaskStatus } from '../db/schema.js';
import { NotFoundError } from '../errors.js';
import type { Stage } from '../sequences/stage.js';
import { iso } from './durations.js';
import type { InboxViewer } from './inbox-viewer.js';
import { visibleTo } from './inbox-viewer.js';
import type { ReadDb } from './read-db.js';

/** One task as the inbox shows it: the contact, what was sent, what they did, what staff did. */
export interface InboxTaskDetail {
  id: number;
  kind: TaskKind;
  priority: 'normal' | 'high';
  status: TaskStatus;
  title: string;
  note: string | null;
  dueAt: string;
  slaDueAt: string | null;
  createdAt: string;
  completedAt: string | null;
  outcome: string | null;
  assignee: string | null;
  team: string | null;
  assignmentReason: string | null;
  contact: {
    email: string;
    name: string | null;
    stage: Stage;
    phone: string | null;
    phoneBad: boolean;
    address: Record<string, unknown> | null;
    addressBad: boolean;
    timezone: string | null;
  };
  touches: { kind: string; subject: string | null; status: string; at: string }[];
  /** Opens and clicks, newest first. */
  engagement: { type: string; at: string; url: string | null }[];
  /** The contact's other events, newest first. */
  events: { type: string; at: string }[];
  activity: { at: string; actor: string; action: string; reason: string | null }[];
}

const SHOWN = 15;
const ENGAGEMENT = ['email_opened', 'email_clicked'];

/** The task if the viewer may see it; otherwise NotFound, the same answer as for no such task. */
export async function inboxTask(db: ReadDb, v: InboxViewer, id: number): Promise<InboxTaskDetail> {
  const t = await db
    .selectFrom('tasks')
    .innerJoin('contacts', 'contacts.id', 'tasks.contact_id')
    .selectAll('tasks')
    .select([
      'contacts.email',
      'contacts.first_name',
      'contacts.last_name',
      'contacts.status as stage',
      'contacts.phone as contact_phone',
      'contacts.address as contact_address',
      'contacts.timezone',
      'contacts.phone_bad_at',
      'contacts.address_bad_at',
    ])
    .where('tasks.id', '=', id)
    .where(visibleTo(v))
    .executeTakeFirst();
  // Another team's task and no task at all look the same: ids are small and easy to guess.
  if (!t) throw new NotFoundError(`no task ${id} in your inbox`);
  const touches = await db
    .selectFrom('touches')
    .select(['kind', 'subject', 'status', 'sent_at', 'due_at'])
    .where('contact_id', '=', t.contact_id)
    .orderBy('created_at', 'desc')
    .limit(SHOWN)
    .execute();
  // Two lists, each read to its own limit: a contact who opens every email would otherwise fill
  // one read with opens and leave the other events out.
  const newestEvents = (engagement: boolean) =>
    db
      .selectFrom('events')
      .select(['type', 'occurred_at', 'data'])
      .where('contact_id', '=', t.contact_id)
      .where('type', engagement ? 'in' : 'not in', ENGAGEMENT)
      .orderBy('seq', 'desc')
      .limit(SHOWN)
      .execute();
  const engagement = await newestEvents(true);
  const events = await newestEvents(false);
  const activity = await db.selectFrom('task_activity').select(['at', 'actor', 'action', 'reason']).where('task_id', '=', id).orderBy('id').limit(100).execute();
  return {
    id: t.id,
    kind: t.kind,
    priority: t.priority,
    status: t.status,
    title: t.title,
    note: t.note,
    dueAt: t.due_at.toISOString(),
    slaDueAt: iso(t.sla_due_at),
    createdAt: t.created_at.toISOString(),
    completedAt: iso(t.completed_at),
    outcome: t.outcome,
    assignee: t.assignee,
    team: t.team,
    assignmentReason: t.assignment_reason,
    contact: {
      email: t.email,
      name: [t.first_name, t.last_name].filter(Boolean).join(' ') || null,
      stage: t.stage,
      // The task's copy was taken when it was made; the contact's own is newer when it has one.
      phone: t.contact_phone ?? t.phone,
      phoneBad: t.phone_bad_at !== null,
      address: t.contact_address ?? t.address ?? null,
      addressBad: t.address_bad_at !== null,
      timezone: t.timezone,
    },
    touches: touches.map((r) => ({ kind: r.kind, subject: r.subject, status: r.status, at: (r.sent_at ?? r.due_at).toISOString() })),
    engagement: engagement.map((e) => ({ type: e.type, at: e.occurred_at.toISOString(), url: typeof e.data['url'] === 'string' ? e.data['url'] : null })),
    events: events.map((e) => ({ type: e.type, at: e.occurred_at.toISOString() })),
    activity: activity.map((a) => ({ at: a.at.toISOString(), actor: a.actor, action: a.action, reason: a.reason })),
  };
}
