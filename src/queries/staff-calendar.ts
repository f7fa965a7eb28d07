import type { CalendarTask } from '../staff/staff-calendar.js';
import type { ReadDb } from './read-db.js';

/** The user's open call tasks (assigned to them), soonest first, for their calendar feed. */
export async function openCallsOf(db: ReadDb, email: string): Promise<CalendarTask[]> {
  const rows = await db
    .selectFrom('tasks')
    .innerJoin('contacts', 'contacts.id', 'tasks.contact_id')
    .select(['tasks.id', 'tasks.title', 'tasks.priority', 'tasks.due_at', 'tasks.note', 'tasks.phone', 'contacts.email', 'contacts.first_name', 'contacts.last_name'])
    .where('tasks.kind', '=', 'call')
    .where('tasks.status', '=', 'open')
    .where('tasks.assignee', '=', email)
    .orderBy('tasks.due_at')
    .orderBy('tasks.id')
    .limit(1000)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    title: r.title,
    priority: r.priority,
    dueAt: r.due_at,
    note: r.note,
    phone: r.phone,
    contactEmail: r.email,
    contactName: [r.first_name, r.last_name].filter(Boolean).join(' ') || null,
  }));
}

/** True when the user's login account exists and is disabled (`nurture users disable`): their feed ends too. */
export async function staffAccountDisabled(db: ReadDb, email: string): Promise<boolean> {
  const r = await db.selectFrom('staff_accounts').select('disabled_at').where('email', '=', email.trim().toLowerCase()).executeTakeFirst();
  return r?.disabled_at != null;
}
