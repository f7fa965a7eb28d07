import { sql } from 'kysely';
import type { GivenContact } from '../sequences/contact.js';
import type { Kysely, Selectable } from 'kysely';
import type { Contact, PostalAddress } from '../sequences/contact.js';
import type { NurtureEvent } from '../sequences/event.js';
import type { Stage, StageChange } from '../sequences/stage.js';
import type { ContactsTable, Database, StageChangesTable } from './schema.js';

export type ContactRow = Selectable<ContactsTable>;

/** The columns a Contact is made of (a read may select just these). */
export type ContactFields = Pick<
  ContactRow,
  'id' | 'email' | 'first_name' | 'last_name' | 'phone' | 'timezone' | 'address' | 'attributes' | 'tags' | 'score' | 'status' | 'unsubscribed_at' | 'bounced_at' | 'paused_at' | 'address_bad_at'
>;

export function toContact(r: ContactFields): Contact {
  return {
    id: r.id,
    email: r.email,
    firstName: r.first_name,
    lastName: r.last_name,
    phone: r.phone,
    timezone: r.timezone,
    address: (r.address as PostalAddress | null) ?? null,
    attributes: r.attributes ?? {},
    tags: r.tags ?? [],
    score: r.score,
    status: r.status,
    unsubscribedAt: r.unsubscribed_at ? r.unsubscribed_at.toISOString() : null,
    bouncedAt: r.bounced_at ? r.bounced_at.toISOString() : null,
    pausedAt: r.paused_at ? r.paused_at.toISOString() : null,
    addressBadAt: r.address_bad_at ? r.address_bad_at.toISOString() : null,
  };
}

/**
 * Creates or refreshes the contact an event names, and locks its row until the transaction
 * ends: every change to one contact is serialised behind this lock, whatever the process.
 * Fields the event leaves out keep their stored value.
 */
export async function upsertContactForEvent(db: Kysely<Database>, e: NurtureEvent): Promise<{ row: ContactRow; inserted: boolean }> {
  const rows = await upsertContactsForEvents(db, [e]);
  return rows.get(e.contact.email)!;
}

export type { GivenContact };

/** The contact fields an event or an import gives, as column values (absent fields are null, to be kept). */
export function givenContactColumns(c: GivenContact) {
  return {
    email: c.email,
    first_name: c.firstName ?? null,
    last_name: c.lastName ?? null,
    phone: c.phone ?? null,
    timezone: c.timezone ?? null,
    address: c.address ? JSON.stringify(c.address) : null,
    attributes: JSON.stringify(c.attributes ?? {}),
  };
}

function contactValues(e: NurtureEvent) {
  return {
    ...givenContactColumns(e.contact),
    tags: '[]',
    opted_in_at: e.type === 'opt_in' ? e.occurredAt : null,
  };
}

/**
 * The bulk form, for events of distinct contacts. Rows are sorted by email so two transactions
 * lock overlapping contacts in the same order and cannot deadlock each other.
 */
/**
 * How a stored contact row takes in new values, for events and imports alike: fields left out
 * keep what is stored, attributes are merged.
 */
export function mergedContactFields() {
  return {
    first_name: sql<string | null>`coalesce(excluded.first_name, contacts.first_name)`,
    last_name: sql<string | null>`coalesce(excluded.last_name, contacts.last_name)`,
    phone: sql<string | null>`coalesce(excluded.phone, contacts.phone)`,
    timezone: sql<string | null>`coalesce(excluded.timezone, contacts.timezone)`,
    address: sql<string | null>`coalesce(excluded.address, contacts.address)`,
    attributes: sql<string>`contacts.attributes || excluded.attributes`,
    updated_at: sql<Date>`now()`,
  };
}

/** The cached score a contact would have if this event created it (scoring on): stored with the insert, not by a second write. */
export type ScoreIfNew = (e: NurtureEvent) => { score: number; fit_score: number; engagement_score: number; score_at: Date };

export async function upsertContactsForEvents(
  db: Kysely<Database>,
  events: readonly NurtureEvent[],
  scoreIfNew?: ScoreIfNew,
): Promise<Map<string, { row: ContactRow; inserted: boolean }>> {
  const values = events
    .map((e) => (scoreIfNew ? { ...contactValues(e), ...scoreIfNew(e) } : contactValues(e)))
    .sort((a, b) => (a.email < b.email ? -1 : a.email > b.email ? 1 : 0));
  const rows = await db
    .insertInto('contacts')
    .values(values)
    .onConflict((oc) =>
      oc.column('email').doUpdateSet({
        ...mergedContactFields(),
        opted_in_at: sql`coalesce(contacts.opted_in_at, excluded.opted_in_at)`,
      }),
    )
    .returningAll()
    .returning(sql<boolean>`(xmax = 0)`.as('inserted'))
    .execute();
  const out = new Map<string, { row: ContactRow; inserted: boolean }>();
  for (const r of rows) {
    const { inserted, ...row } = r as ContactRow & { inserted: boolean };
    out.set(row.email, { row, inserted });
  }
  return out;
}

/** Locks a contact row (always taken before any of its enrollments, so two workers never deadlock). */
export async function lockContact(db: Kysely<Database>, id: string): Promise<ContactRow | undefined> {
  return db.selectFrom('contacts').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

/** The email of each of these contact ids that exists. */
export async function contactEmailsByIds(db: Kysely<Database>, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom('contacts').select(['id', 'email']).where('id', 'in', ids).execute();
  return new Map(rows.map((r) => [r.id, r.email]));
}

export async function findContactByEmail(db: Kysely<Database>, email: string): Promise<ContactRow | undefined> {
  return db.selectFrom('contacts').selectAll().where('email', '=', email.trim().toLowerCase()).executeTakeFirst();
}

export interface ContactPatch {
  status?: Stage;
  promoted_at?: Date;
  promotion_reason?: string;
  unsubscribed_at?: Date | null;
  bounced_at?: Date | null;
  tags?: string[];
  attributes?: Record<string, unknown>;
}

export async function updateContact(db: Kysely<Database>, id: string, patch: ContactPatch): Promise<void> {
  const { tags, attributes, ...rest } = patch;
  await db
    .updateTable('contacts')
    .set({
      ...rest,
      ...(tags ? { tags: JSON.stringify(tags) } : {}),
      ...(attributes ? { attributes: JSON.stringify(attributes) } : {}),
      updated_at: sql`now()`,
    })
    .where('id', '=', id)
    .execute();
}

export type StageChangeRow = Selectable<StageChangesTable>;

/** Records lifecycle transitions; call it in the transaction that makes them. */
/** `eventId` is null for a change no single event caused (a score decaying, a rebuild). */
export async function insertStageChanges(
  db: Kysely<Database>,
  contactId: string,
  changes: readonly (Omit<StageChange, 'eventId'> & { eventId: string | null })[],
): Promise<void> {
  if (changes.length === 0) return;
  await db
    .insertInto('stage_changes')
    .values(changes.map((c) => ({ contact_id: contactId, kind: c.kind, from_stage: c.from, to_stage: c.to, reason: c.reason, event_id: c.eventId, at: c.at })))
    .execute();
}

/** A contact's lifecycle transitions, oldest first. */
export async function stageChangesOfContact(db: Kysely<Database>, contactId: string): Promise<StageChangeRow[]> {
  return db.selectFrom('stage_changes').selectAll().where('contact_id', '=', contactId).orderBy('at').orderBy('id').execute();
}

export interface ContactListFilter {
  status?: Stage | undefined;
  limit?: number | undefined;
}

/** Contacts, latest lifecycle change first (promotion, else opt-in, else creation). */
export async function listContacts(db: Kysely<Database>, f: ContactListFilter): Promise<ContactRow[]> {
  let q = db.selectFrom('contacts').selectAll();
  if (f.status) q = q.where('status', '=', f.status);
  return q
    .orderBy(sql`coalesce(promoted_at, opted_in_at, created_at)`, 'desc')
    .orderBy('email')
    .limit(f.limit ?? 50)
    .execute();
}

export interface OptInLeadStats {
  /** Contacts with an opt-in (since `since`, when given). */
  optedIn: number;
  /** Of those, how many became a lead after opting in. */
  converted: number;
  /** Time from opt-in to lead over the converted contacts, in seconds (null when there are none). */
  medianSeconds: number | null;
  p90Seconds: number | null;
  minSeconds: number | null;
  maxSeconds: number | null;
}

/**
 * The opt-in cohort (opted in since `since`, or ever) and its conversion to lead. Contacts who were
 * leads before they opted in are not conversions, and do not count in the time to lead.
 */
export async function optInLeadStats(db: Kysely<Database>, since?: Date): Promise<OptInLeadStats> {
  const converted = sql`status = 'lead' and promoted_at is not null and promoted_at >= opted_in_at`;
  const seconds = sql`extract(epoch from (promoted_at - opted_in_at))::float8`;
  let q = db
    .selectFrom('contacts')
    .select([
      sql<number>`count(*)::int`.as('opted_in'),
      sql<number>`(count(*) filter (where ${converted}))::int`.as('converted'),
      sql<number | null>`percentile_cont(0.5) within group (order by ${seconds}) filter (where ${converted})`.as('median'),
      sql<number | null>`percentile_cont(0.9) within group (order by ${seconds}) filter (where ${converted})`.as('p90'),
      sql<number | null>`min(${seconds}) filter (where ${converted})`.as('min'),
      sql<number | null>`max(${seconds}) filter (where ${converted})`.as('max'),
    ])
    .where('opted_in_at', 'is not', null);
  if (since) q = q.where('opted_in_at', '>=', since);
  const r = await q.executeTakeFirstOrThrow();
  const num = (v: number | string | null) => (v === null ? null : Number(v));
  return {
    optedIn: Number(r.opted_in),
    converted: Number(r.converted),
    medianSeconds: num(r.median),
    p90Seconds: num(r.p90),
    minSeconds: num(r.min),
    maxSeconds: num(r.max),
  };
}

/** Leads (promoted since `since`, when given) counted by promotion reason, most frequent first. */
export async function leadsByReason(db: Kysely<Database>, since?: Date): Promise<{ reason: string | null; leads: number }[]> {
  let q = db
    .selectFrom('contacts')
    .select(['promotion_reason as reason', sql<number>`count(*)::int`.as('leads')])
    .where('status', '=', 'lead');
  if (since) q = q.where('promoted_at', '>=', since);
  const rows = await q.groupBy('promotion_reason').orderBy(sql`count(*)`, 'desc').orderBy('promotion_reason').execute();
  return rows.map((r) => ({ reason: r.reason, leads: Number(r.leads) }));
}

/**
 * The contact row of an address, created bare (no field, no opt-in) when there is none, for
 * something that must refer to the person before any event of theirs is applied (a double
 * opt-in's confirmation email). An existing contact is left as it is.
 */
export async function ensureContactRow(db: Kysely<Database>, email: string): Promise<ContactRow> {
  const key = email.toLowerCase();
  await db.insertInto('contacts').values({ email: key, attributes: '{}', tags: '[]' }).onConflict((oc) => oc.column('email').doNothing()).execute();
  return db.selectFrom('contacts').selectAll().where('email', '=', key).executeTakeFirstOrThrow();
}

/** Locks the contacts of these enrollments, in id order (the engine's lock order: contacts before enrollments). */
export async function lockContactsOfEnrollments(db: Kysely<Database>, enrollmentIds: readonly string[]): Promise<Map<string, ContactRow>> {
  if (enrollmentIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('contacts')
    .selectAll()
    .where('id', 'in', db.selectFrom('enrollments').select('contact_id').where('id', 'in', [...enrollmentIds]))
    .orderBy('id')
    .forUpdate()
    .execute();
  return new Map(rows.map((r) => [r.id, r]));
}
