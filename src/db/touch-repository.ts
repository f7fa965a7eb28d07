import { sql } from 'kysely';
import type { Kysely, Selectable } from 'kysely';
import type { Database, TouchesTable } from './schema.js';

export type TouchRow = Selectable<TouchesTable>;

export interface NewTouch {
  id: string;
  key: string;
  enrollment_id: string | null;
  contact_id: string;
  sequence_id: string | null;
  step_id: string;
  kind: TouchRow['kind'];
  template: string | null;
  status: TouchRow['status'];
  subject: string | null;
  due_at: Date;
  error?: string | null;
}

/**
 * Inserts touches; a key seen before is skipped (a step never runs twice): the insert trigger
 * claims each key in `touch_keys` and drops the row whose key was taken, as ON CONFLICT (key)
 * DO NOTHING did before `touches` was partitioned. Returns the ids inserted.
 */
export async function insertTouches(db: Kysely<Database>, touches: NewTouch[]): Promise<Set<string>> {
  if (touches.length === 0) return new Set();
  const rows = await db.insertInto('touches').values(touches).returning('id').execute();
  return new Set(rows.map((r) => r.id));
}

/** Send instants of emails to a contact since `since` (sent or still to go), for frequency caps. */
export async function recentEmailTimes(db: Kysely<Database>, contactId: string, since: Date): Promise<string[]> {
  const rows = await db
    .selectFrom('touches')
    .select(['due_at', 'sent_at'])
    .where('contact_id', '=', contactId)
    .where('kind', '=', 'email')
    .where('status', 'in', ['pending', 'sending', 'sent'])
    .where('due_at', '>=', since)
    .execute();
  return rows.map((r) => (r.sent_at ?? r.due_at).toISOString());
}

/**
 * Cancels emails not yet sent, e.g. on unsubscribe or promotion: nothing more goes out. With
 * `nurtureOnly`, emails of no enrollment (a double opt-in's confirmation, asked for by the person)
 * are left to go.
 */
export async function cancelPendingEmails(db: Kysely<Database>, contactId: string, reason: string, o: { nurtureOnly?: boolean } = {}): Promise<number> {
  let q = db
    .updateTable('touches')
    .set({ status: 'cancelled', error: reason })
    .where('contact_id', '=', contactId)
    .where('kind', '=', 'email')
    .where('status', '=', 'pending');
  if (o.nurtureOnly) q = q.where('enrollment_id', 'is not', null);
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows);
}

export async function lockTouch(db: Kysely<Database>, id: string): Promise<TouchRow | undefined> {
  return db.selectFrom('touches').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

/** Marks an attempt as started; if one had started before and never finished, the send is in doubt. */
export async function beginSendAttempt(db: Kysely<Database>, id: string, messageId: string, subject: string): Promise<{ inDoubt: boolean }> {
  const r = await db
    .updateTable('touches')
    .set({
      in_doubt: sql`in_doubt or status = 'sending'`,
      status: 'sending',
      attempts: sql`attempts + 1`,
      message_id: messageId,
      subject,
    })
    .where('id', '=', id)
    .returning('in_doubt')
    .executeTakeFirstOrThrow();
  return { inDoubt: r.in_doubt };
}

export async function finishSend(
  db: Kysely<Database>,
  id: string,
  result: { status: 'sent'; at: Date } | { status: 'failed' | 'cancelled' | 'pending' | 'held'; error: string },
): Promise<void> {
  await db
    .updateTable('touches')
    .set(
      result.status === 'sent'
        ? { status: 'sent', sent_at: result.at, error: null }
        : { status: result.status, error: result.error, ...(result.status === 'failed' ? { failed_at: sql`now()` } : {}) },
    )
    .where('id', '=', id)
    .execute();
}

/** Says why a touch cut off mid-send waits, still `sending`, for its retry (which will be in doubt). */
export async function noteCutOff(db: Kysely<Database>, id: string, error: string): Promise<void> {
  await db.updateTable('touches').set({ error }).where('id', '=', id).where('status', '=', 'sending').execute();
}

/** A row's place in a keyset-paged scan: its timestamp as Postgres prints it (microseconds kept) and its id. */
export interface PageCursor {
  at: string;
  id: string;
}

/** Emails that should be in the send queue: pending or cut off mid-send, older than `olderThan`, in (created_at, id) order after `after`. */
export async function unsentEmails(db: Kysely<Database>, olderThan: Date, limit: number, after?: PageCursor): Promise<{ id: string; cursor: PageCursor }[]> {
  let q = db
    .selectFrom('touches')
    .select(['id', sql<string>`created_at::text`.as('at')])
    .where('kind', '=', 'email')
    .where('status', 'in', ['pending', 'sending'])
    .where('created_at', '<=', olderThan);
  // A JS Date keeps milliseconds only: the cursor is compared as text cast back, not as a Date.
  // The plain bound beside the row comparison lets the planner skip the months before the cursor (touches is partitioned by created_at).
  if (after) q = q.where(sql<boolean>`(created_at, id) > (${after.at}::timestamptz, ${after.id}::uuid) and created_at >= ${after.at}::timestamptz`);
  const rows = await q.orderBy('created_at').orderBy('id').limit(limit).execute();
  return rows.map((r) => ({ id: r.id, cursor: { at: r.at, id: r.id } }));
}

export async function touchesOfContact(db: Kysely<Database>, contactId: string): Promise<TouchRow[]> {
  return db.selectFrom('touches').selectAll().where('contact_id', '=', contactId).orderBy('created_at').execute();
}

/** Resolves the touch an engagement event refers to, by touch id or Message-ID. */
export async function findTouchByRef(db: Kysely<Database>, ref: string): Promise<TouchRow | undefined> {
  const isUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(ref);
  let q = db.selectFrom('touches').selectAll();
  q = isUuid ? q.where((eb) => eb.or([eb('id', '=', ref), eb('message_id', '=', ref)])) : q.where('message_id', '=', ref);
  return q.executeTakeFirst();
}

/** Emails (created since `since`, when given) counted by status, with how many of each are in doubt. */
export async function emailStatusCounts(db: Kysely<Database>, since?: Date): Promise<{ status: TouchRow['status']; emails: number; inDoubt: number }[]> {
  let q = db
    .selectFrom('touches')
    .select(['status', sql<number>`count(*)::int`.as('n'), sql<number>`(count(*) filter (where in_doubt))::int`.as('in_doubt')])
    .where('kind', '=', 'email');
  if (since) q = q.where('created_at', '>=', since);
  const rows = await q.groupBy('status').execute();
  return rows.map((r) => ({ status: r.status, emails: Number(r.n), inDoubt: Number(r.in_doubt) }));
}

/** Who a tracked email went to, and when, for telling a person's click or open from a scanner's. */
export interface TrackedTouch {
  contactId: string;
  email: string;
  sentAt: Date | null;
  /** The click before this one (for `markClicked`); null for the first. */
  previousClickAt: Date | null;
}

/** Records a click on the touch's links now and returns the one before it, in one statement (concurrent clicks see each other). */
export async function markClicked(db: Kysely<Database>, touchId: string, at: Date): Promise<TrackedTouch | undefined> {
  const r = await sql<{ contact_id: string; email: string; sent_at: Date | null; previous: Date | null }>`
    with old as (select id, last_clicked_at from touches where id = ${touchId} for update)
    update touches t set last_clicked_at = ${at}
    from old, contacts c
    where t.id = old.id and c.id = t.contact_id
    returning t.contact_id, c.email, t.sent_at, old.last_clicked_at as previous`.execute(db);
  const row = r.rows[0];
  return row ? { contactId: row.contact_id, email: row.email, sentAt: row.sent_at, previousClickAt: row.previous } : undefined;
}

export async function trackedTouch(db: Kysely<Database>, touchId: string): Promise<TrackedTouch | undefined> {
  const row = await db
    .selectFrom('touches')
    .innerJoin('contacts', 'contacts.id', 'touches.contact_id')
    .select(['touches.contact_id', 'contacts.email', 'touches.sent_at'])
    .where('touches.id', '=', touchId)
    .executeTakeFirst();
  return row ? { contactId: row.contact_id, email: row.email, sentAt: row.sent_at, previousClickAt: null } : undefined;
}

/** Cancels an email not sent yet (pending, held, or failed); one being sent or sent already is left alone. */
export async function cancelUnsentEmail(db: Kysely<Database>, id: string, reason: string): Promise<boolean> {
  const r = await db.updateTable('touches').set({ status: 'cancelled', error: reason }).where('id', '=', id).where('status', 'in', ['pending', 'held', 'failed']).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/**
 * A touch's full key as the batch statements take it: `touches` is partitioned by `created_at`
 * with the primary key (id, created_at), and `at` is `created_at` as PostgreSQL prints it
 * (microseconds kept: a JS Date would lose them, and the key with them).
 */
export interface TouchKey {
  id: string;
  at: string;
}

/**
 * Why the many-touch statements below find each row by its full key, given or probed for row
 * by row, rather than `id in (...)` or a join on `id` alone: `touches` is partitioned with the
 * primary key (id, created_at), so no index says `id` alone is unique, and a month's partition
 * has no statistics until autovacuum first analyses it (the first minute of every month, or of
 * a new database). The planner then takes 0.5% of the partition per id, so a batch of 50 ids
 * looks like a quarter of it and gets a sequential scan: 24 ms for 50 touches at 100,000 rows,
 * growing with the table (in the 100k burst, 74 s of the 95 s its statements took). lockTouches
 * probes for each id (a lateral subquery the planner may not flatten; `limit 1`: a touch id is
 * unique, gen_random_uuid or an id the engine made, the key only does not say so) and returns
 * the keys; the UPDATEs take those keys and go straight to each row.
 */
function keyed(keys: readonly TouchKey[]) {
  return sql<{ id: string; created_at: Date }>`select x.id, x.created_at from unnest(${keys.map((k) => k.id)}::uuid[], ${keys.map((k) => k.at)}::timestamptz[]) x(id, created_at)`;
}

/** Locks these touches, in id order; each with its key (`key_at`: its created_at as PostgreSQL prints it) for the UPDATEs below. */
export async function lockTouches(db: Kysely<Database>, ids: readonly string[]): Promise<(TouchRow & { key_at: string })[]> {
  if (ids.length === 0) return [];
  // Locked one by one in the sorted subquery's order: two batches sharing touches cannot deadlock.
  const r = await sql<TouchRow & { key_at: string }>`
    select t.*, t.created_at::text as key_at from (select distinct id from unnest(${[...ids]}::uuid[]) u(id) order by id) x
    cross join lateral (select * from touches where id = x.id limit 1 for update) t
    order by t.id`.execute(db);
  return r.rows;
}

/** beginSendAttempt for many touches in one statement; returns which were in doubt. */
export async function beginSendAttempts(db: Kysely<Database>, attempts: readonly (TouchKey & { messageId: string; subject: string })[]): Promise<Map<string, boolean>> {
  if (attempts.length === 0) return new Map();
  const values = JSON.stringify(attempts.map((a) => ({ id: a.id, message_id: a.messageId, subject: a.subject })));
  const r = await sql<{ id: string; in_doubt: boolean }>`
    with v as materialized (${keyed(attempts)}),
      a as (select * from jsonb_to_recordset(${values}::jsonb) as a(id uuid, message_id text, subject text))
    update touches t set in_doubt = t.in_doubt or t.status = 'sending', status = 'sending', attempts = t.attempts + 1,
      message_id = a.message_id, subject = a.subject
    from v join a on a.id = v.id where t.id = v.id and t.created_at = v.created_at
    returning t.id, t.in_doubt`.execute(db);
  return new Map(r.rows.map((row) => [row.id, row.in_doubt]));
}

/** finishSend({ status: 'sent' }) for many touches in one statement; returns the ids it found by their keys (the caller marks any other by its id alone). */
export async function markSent(db: Kysely<Database>, keys: readonly TouchKey[], at: Date): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const r = await sql<{ id: string }>`
    with v as materialized (${keyed(keys)})
    update touches t set status = 'sent', sent_at = ${at}, error = null
    from v where t.id = v.id and t.created_at = v.created_at
    returning t.id`.execute(db);
  return new Set(r.rows.map((row) => row.id));
}
