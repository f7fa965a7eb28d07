import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { ScoredEvent } from '../scoring/score.js';
import type { ContactRow } from './contact-repository.js';
import type { Stage } from '../sequences/stage.js';
import type { Database } from './schema.js';

/** The cached score of a contact (contacts.score, fit_score, engagement_score, score_at). */
export interface CachedScore {
  contactId: string;
  score: number;
  fit: number;
  engagement: number;
}

/**
 * The events of these contacts that some scoring rule reads (`types`), by contact. Read through
 * events_contact_id_seq_idx; the order does not matter to the score.
 */
export async function scoredEventsOf(db: Kysely<Database>, contactIds: readonly string[], types: readonly string[]): Promise<Map<string, ScoredEvent[]>> {
  const out = new Map<string, ScoredEvent[]>();
  if (contactIds.length === 0 || types.length === 0) return out;
  const rows = await db
    .selectFrom('events')
    // Epoch milliseconds as a float8: parsing 20 timestamps a contact into Dates is the slow part of a rebuild.
    .select(['contact_id', 'id', 'type', sql<number>`(extract(epoch from occurred_at) * 1000)::float8`.as('at'), 'data'])
    .where('contact_id', '=', sql<string>`any(${sql.val([...contactIds])}::uuid[])`)
    .where('type', '=', sql<string>`any(${sql.val([...types])}::text[])`)
    .execute();
  for (const r of rows) {
    let list = out.get(r.contact_id);
    if (!list) out.set(r.contact_id, (list = []));
    list.push({ id: r.id, type: r.type, at: r.at, data: r.data ?? {} });
  }
  return out;
}

/**
 * Writes many cached scores in one statement, with the new stage of those whose stage moved
 * (one row version per contact, not two: a rebuild may move most of them).
 */
export async function writeScores(db: Kysely<Database>, scores: readonly (CachedScore & { stage?: Stage | undefined })[], at: Date): Promise<void> {
  if (scores.length === 0) return;
  const moved = scores.some((s) => s.stage !== undefined);
  await sql`
    update contacts c set score = v.score, fit_score = v.fit, engagement_score = v.engagement, score_at = ${at}
      ${moved ? sql`, status = coalesce(v.stage, c.status), updated_at = case when v.stage is null then c.updated_at else now() end` : sql``}
    from unnest(${sql.val(scores.map((s) => s.contactId))}::uuid[], ${sql.val(scores.map((s) => s.score))}::int4[],
                ${sql.val(scores.map((s) => s.fit))}::float8[], ${sql.val(scores.map((s) => s.engagement))}::float8[],
                ${sql.val(scores.map((s) => s.stage ?? null))}::text[])
      as v(id, score, fit, engagement, stage)
    where c.id = v.id`.execute(db);
}

export function cachedScoreOf(r: Pick<ContactRow, 'id' | 'score' | 'fit_score' | 'engagement_score'>): CachedScore {
  return { contactId: r.id, score: r.score, fit: r.fit_score, engagement: r.engagement_score };
}

/** A page of contact ids in id order (the rebuild walks everyone this way). */
export async function contactIdsPage(db: Kysely<Database>, after: string | undefined, limit: number): Promise<string[]> {
  let q = db.selectFrom('contacts').select('id').orderBy('id').limit(limit);
  if (after !== undefined) q = q.where('id', '>', after);
  return (await q.execute()).map((r) => r.id);
}

/** What scoring reads of a contact: its fields, stage, standing and cached score (no bookkeeping timestamps). */
export const SCORED_CONTACT_COLUMNS = [
  'id', 'email', 'first_name', 'last_name', 'phone', 'timezone', 'address', 'attributes', 'tags', 'score', 'status',
  'unsubscribed_at', 'bounced_at', 'paused_at', 'address_bad_at', 'fit_score', 'engagement_score',
] as const;
export type ScoredContactRow = Pick<ContactRow, (typeof SCORED_CONTACT_COLUMNS)[number]>;

/** These contacts (in id order), locked for the transaction unless `lock` is false. */
export async function scoredContacts(db: Kysely<Database>, ids: readonly string[], lock: boolean): Promise<ScoredContactRow[]> {
  const q = db.selectFrom('contacts').select([...SCORED_CONTACT_COLUMNS]).where('id', '=', sql<string>`any(${sql.val([...ids])}::uuid[])`).orderBy('id');
  return lock ? q.forUpdate().execute() : q.execute();
}

export async function countContacts(db: Kysely<Database>): Promise<number> {
  const r = await db.selectFrom('contacts').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
  return r.n;
}

/** Contacts whose engagement is still decaying and whose cache is older than `before`, oldest first. */
export async function staleDecayingContacts(db: Kysely<Database>, before: Date, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('contacts')
    .select('id')
    .where('engagement_score', '>', 0)
    .where((w) => w.or([w('score_at', '<', before), w('score_at', 'is', null)]))
    .orderBy('score_at')
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}

/** One stage_changes row per move, in one statement (the contacts' status is set by writeScores). */
export async function insertStageMoves(
  db: Kysely<Database>,
  moves: readonly { contactId: string; from: Stage; to: Stage; reason: string; eventId: string | null; at: string }[],
): Promise<void> {
  if (moves.length === 0) return;
  await db
    .insertInto('stage_changes')
    .values(moves.map((m) => ({ contact_id: m.contactId, kind: 'stage' as const, from_stage: m.from, to_stage: m.to, reason: m.reason, event_id: m.eventId, at: m.at })))
    .execute();
}
