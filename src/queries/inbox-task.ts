import { selectTaskListings } from '../db/task-repository.js';
import { taskActivity } from '../db/task-activity-repository.js';
import { NotFoundError } from '../errors.js';
import type { Stage } from '../sequences/stage.js';
import type { InboxViewer } from './inbox-viewer.js';
import { visibleTo } from './inbox-viewer.js';
import type { ReadDb } from './read-db.js';
import type { TaskItem } from './tasks.js';
import { taskItem } from './tasks.js';

/**
 * One task as the inbox shows it: the contact, what was sent, what they did, what staff did.
 * The task itself is the shared task item (src/queries/tasks.ts); the lists are the page's own.
 */
export interface InboxTaskDetail
  extends Pick<TaskItem, 'id' | 'kind' | 'priority' | 'status' | 'title' | 'note' | 'dueAt' | 'slaDueAt' | 'createdAt' | 'completedAt' | 'outcome' | 'assignee' | 'team' | 'assignmentReason'> {
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

/**
 * The task if the viewer may see it; otherwise NotFound, the same answer as for no such task.
 * Not taskDetail with a check in front: the page shows its own lists (15 of each, opens and
 * clicks as one list, the other events apart, touches as they were made, those still ahead too),
 * and reading taskDetail's lists only to drop them would cost four queries a page.
 */
export async function inboxTask(db: ReadDb, v: InboxViewer, id: number): Promise<InboxTaskDetail> {
  const t = await selectTaskListings(db)
    .select(['contacts.status as stage', 'contacts.phone as contact_phone', 'contacts.address as contact_address', 'contacts.timezone'])
    .where('tasks.id', '=', id)
    .where(visibleTo(v))
    .executeTakeFirst();
  // Another team's task and no task at all look the same: ids are small and easy to guess.
  if (!t) throw new NotFoundError(`no task ${id} in your inbox`);
  const { contact, phoneBad, addressBad, ...item } = taskItem(t);
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
  const activity = await taskActivity(db, id, 100);
  return {
    id: item.id,
    kind: item.kind,
    priority: item.priority,
    status: item.status,
    title: item.title,
    note: item.note,
    dueAt: item.dueAt,
    slaDueAt: item.slaDueAt,
    createdAt: item.createdAt,
    completedAt: item.completedAt,
    outcome: item.outcome,
    assignee: item.assignee,
    team: item.team,
    assignmentReason: item.assignmentReason,
    contact: {
      ...contact,
      stage: t.stage,
      // The task's copy was taken when it was made; the contact's own is newer when it has one.
      phone: t.contact_phone ?? t.phone,
      phoneBad,
      address: t.contact_address ?? t.address ?? null,
      addressBad,
      timezone: t.timezone,
    },
    touches: touches.map((r) => ({ kind: r.kind, subject: r.subject, status: r.status, at: (r.sent_at ?? r.due_at).toISOString() })),
    engagement: engagement.map((e) => ({ type: e.type, at: e.occurred_at.toISOString(), url: typeof e.data['url'] === 'string' ? e.data['url'] : null })),
    events: events.map((e) => ({ type: e.type, at: e.occurred_at.toISOString() })),
    activity: activity.map((a) => ({ at: a.at.toISOString(), actor: a.actor, action: a.action, reason: a.reason })),
  };
}
