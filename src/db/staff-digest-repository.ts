import type { Kysely } from 'kysely';
import type { DigestTask } from '../staff/digest.js';
import type { Database } from './schema.js';

/** Which of these (user, local date) digests went out already, from any process, as `email local_date` keys: one query a round. */
export async function digestsRecorded(db: Kysely<Database>, wanted: readonly { email: string; localDate: string }[]): Promise<Set<string>> {
  if (wanted.length === 0) return new Set();
  const rows = await db
    .selectFrom('staff_digests')
    .select(['email', 'local_date'])
    .where((eb) => eb.or(wanted.map((w) => eb.and([eb('email', '=', w.email), eb('local_date', '=', w.localDate)]))))
    .execute();
  return new Set(rows.map((r) => digestKey(r.email, r.local_date)));
}

export const digestKey = (email: string, localDate: string): string => `${email} ${localDate}`;

/**
 * Claims the user's digest of the day inside the caller's transaction; false when it is claimed
 * already. Another process claiming the same one waits on this row until the transaction ends,
 * then finds it taken (sent) or gone (the send failed and was rolled back: it may send instead).
 */
export async function claimDigest(tx: Kysely<Database>, email: string, localDate: string, tasks: number, at: Date): Promise<boolean> {
  const r = await tx
    .insertInto('staff_digests')
    .values({ email, local_date: localDate, tasks, sent_at: at })
    .onConflict((oc) => oc.columns(['email', 'local_date']).doNothing())
    .returning('email')
    .executeTakeFirst();
  return r !== undefined;
}

/**
 * Open tasks of a user due before `before`: theirs, and the unclaimed ones in their teams' queues.
 * A task snoozed past `before` waits for its day.
 */
export async function openTasksForDigest(db: Kysely<Database>, email: string, teams: readonly string[], before: Date): Promise<DigestTask[]> {
  const rows = await db
    .selectFrom('tasks')
    .innerJoin('contacts', 'contacts.id', 'tasks.contact_id')
    .select(['tasks.id', 'tasks.kind', 'tasks.priority', 'tasks.title', 'tasks.due_at', 'tasks.assignee', 'tasks.team', 'tasks.phone', 'contacts.email'])
    .where('tasks.status', '=', 'open')
    .where('tasks.due_at', '<', before)
    .where((eb) => eb.or([eb('tasks.snoozed_until', 'is', null), eb('tasks.snoozed_until', '<', before)]))
    .where((eb) =>
      teams.length > 0
        ? eb.or([eb('tasks.assignee', '=', email), eb.and([eb('tasks.assignee', 'is', null), eb('tasks.team', 'in', [...teams])])])
        : eb('tasks.assignee', '=', email),
    )
    .orderBy('tasks.due_at')
    .orderBy('tasks.id')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    kind: r.kind,
    priority: r.priority,
    title: r.title,
    dueAt: r.due_at,
    assignee: r.assignee,
    team: r.team,
    contactEmail: r.email,
    phone: r.phone,
  }));
}
