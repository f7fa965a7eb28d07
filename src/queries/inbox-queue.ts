import { sql } from 'kysely';
import type { TaskKind } from '../db/schema.js';
import { iso } from './durations.js';
import type { InboxViewer } from './inbox-viewer.js';
import { canClaimTask, visibleTo } from './inbox-viewer.js';
import type { ReadDb } from './read-db.js';

/** A row of the inbox's queue: the viewer's open tasks and their teams' unclaimed ones. */
export interface InboxQueueItem {
  id: number;
  kind: TaskKind;
  priority: 'normal' | 'high';
  title: string;
  contact: { email: string; name: string | null };
  dueAt: string;
  slaDueAt: string | null;
  assignee: string | null;
  team: string | null;
  /** Waiting in a team's queue: the viewer may claim it. */
  claimable: boolean;
  createdAt: string;
}

export interface InboxQueue {
  items: InboxQueueItem[];
  /** The highest id of a task the viewer may see, when read: the event stream sends what comes after it. */
  lastTaskId: number;
}

const LIMIT = 200;

function baseQuery(db: ReadDb, v: InboxViewer) {
  return db
    .selectFrom('tasks')
    .innerJoin('contacts', 'contacts.id', 'tasks.contact_id')
    .select([
      'tasks.id',
      'tasks.kind',
      'tasks.priority',
      'tasks.title',
      'tasks.due_at',
      'tasks.sla_due_at',
      'tasks.assignee',
      'tasks.team',
      'tasks.created_at',
      'contacts.email',
      'contacts.first_name',
      'contacts.last_name',
    ])
    .where('tasks.status', '=', 'open')
    .where(visibleTo(v));
}

type Row = Awaited<ReturnType<ReturnType<typeof baseQuery>['execute']>>[number];

function item(r: Row, v: InboxViewer): InboxQueueItem {
  return {
    id: r.id,
    kind: r.kind,
    priority: r.priority,
    title: r.title,
    contact: { email: r.email, name: [r.first_name, r.last_name].filter(Boolean).join(' ') || null },
    dueAt: r.due_at.toISOString(),
    slaDueAt: iso(r.sla_due_at),
    assignee: r.assignee,
    team: r.team,
    claimable: canClaimTask(v, r),
    createdAt: r.created_at.toISOString(),
  };
}

/** Sorted by SLA deadline (none last), then priority (high first), then due time. Snoozed tasks wait. */
export async function inboxQueue(db: ReadDb, v: InboxViewer, now: Date): Promise<InboxQueue> {
  const rows = await baseQuery(db, v)
    .where((eb) => eb.or([eb('tasks.snoozed_until', 'is', null), eb('tasks.snoozed_until', '<=', now)]))
    .orderBy(sql`tasks.sla_due_at asc nulls last`)
    .orderBy(sql`case when tasks.priority = 'high' then 0 else 1 end`)
    .orderBy('tasks.due_at')
    .orderBy('tasks.id')
    .limit(LIMIT)
    .execute();
  // Of the viewer's own tasks only: the page says nothing of how much work other teams have.
  const last = await db.selectFrom('tasks').select(sql<number>`coalesce(max(tasks.id), 0)::int`.as('id')).where(visibleTo(v)).executeTakeFirstOrThrow();
  return { items: rows.map((r) => item(r, v)), lastTaskId: Number(last.id) };
}

/**
 * Open tasks visible to the viewer with an id above `afterId`, oldest first: what the event
 * stream has not sent yet (`sent`: ids above `afterId` it sent already). Bounded: a burst is sent in pages, one per poll.
 */
export async function inboxTasksAfter(db: ReadDb, v: InboxViewer, afterId: number, limit = 50, sent: readonly number[] = []): Promise<InboxQueueItem[]> {
  let q = baseQuery(db, v).where('tasks.id', '>', afterId);
  if (sent.length > 0) q = q.where('tasks.id', 'not in', sent);
  const rows = await q.orderBy('tasks.id').limit(limit).execute();
  return rows.map((r) => item(r, v));
}

/**
 * The highest task id created more than `marginSeconds` ago (by the database's clock): no
 * transaction still open can commit a task at or below it, so an event stream may move its
 * cursor there and never rescan the tasks it was not shown.
 */
export async function settledTaskId(db: ReadDb, marginSeconds = 10): Promise<number> {
  const r = await db
    .selectFrom('tasks')
    .select(sql<number>`coalesce(max(id), 0)::int`.as('id'))
    .where('created_at', '<', sql<Date>`now() - make_interval(secs => ${marginSeconds})`)
    .executeTakeFirstOrThrow();
  return Number(r.id);
}
