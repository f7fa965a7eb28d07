import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** The event intake (see the migration 2026-12-02T100000-event-intake): events committed before they are answered. */

export interface IntakeRow {
  id: string;
  payload: unknown;
  receivedAt: Date;
}

/**
 * Commits received events in one statement (an id already waiting is kept as it is). With a
 * webhook id, the receipt and the events commit together, and a webhook id seen before is a
 * replay: nothing is written and `replay` is true.
 */
export async function insertIntake(
  db: Kysely<Database>,
  rows: readonly { id: string; payload: unknown }[],
  o: { source: string; at: Date; webhookId?: string | undefined },
): Promise<{ replay: boolean }> {
  const insert = async (q: Kysely<Database>) => {
    if (rows.length === 0) return;
    await q
      .insertInto('event_intake')
      // Offered at once by the caller, right after this commits; the drainer re-offers it if that fails.
      .values(rows.map((r) => ({ id: r.id, payload: JSON.stringify(r.payload), source: o.source, received_at: o.at, offered_at: o.at })))
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  };
  if (o.webhookId === undefined) {
    await insert(db);
    return { replay: false };
  }
  const webhookId = o.webhookId;
  return db.transaction().execute(async (tx) => {
    const r = await tx
      .insertInto('webhook_receipts')
      .values({ id: webhookId, events: rows.length, received_at: o.at })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!r) return { replay: true };
    await insert(tx);
    return { replay: false };
  });
}

/** Deletes waiting events that were applied (their id is in `event_ids`) or rejected (in `failed_events`). */
export async function settleIntake(db: Kysely<Database>): Promise<number> {
  const r = await db
    .deleteFrom('event_intake')
    .where((eb) =>
      eb.or([
        // event_ids, not events: one primary-key probe instead of one per monthly partition.
        eb.exists(eb.selectFrom('event_ids').select(sql.lit(1).as('x')).whereRef('event_ids.id', '=', 'event_intake.id')),
        eb.exists(eb.selectFrom('failed_events').select(sql.lit(1).as('x')).whereRef('failed_events.event_id', '=', 'event_intake.id')),
      ]),
    )
    .executeTakeFirst();
  return Number(r.numDeletedRows ?? 0);
}

/** Waiting events not offered since `offeredBefore` (or never), oldest first. */
export async function intakeToOffer(db: Kysely<Database>, offeredBefore: Date, limit: number): Promise<IntakeRow[]> {
  const rows = await db
    .selectFrom('event_intake')
    .select(['id', 'payload', 'received_at'])
    .where((eb) => eb.or([eb('offered_at', 'is', null), eb('offered_at', '<', offeredBefore)]))
    .orderBy('received_at')
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ id: r.id, payload: r.payload, receivedAt: r.received_at }));
}

export async function markOffered(db: Kysely<Database>, ids: readonly string[], at: Date): Promise<void> {
  if (ids.length === 0) return;
  await db.updateTable('event_intake').set({ offered_at: at }).where('id', 'in', ids).execute();
}

/** Receipts older than any webhook timestamp still accepted: a replay that old is refused by its timestamp anyway. */
export async function pruneWebhookReceipts(db: Kysely<Database>, before: Date): Promise<number> {
  const r = await db.deleteFrom('webhook_receipts').where('received_at', '<', before).executeTakeFirst();
  return Number(r.numDeletedRows ?? 0);
}

/** How many received events wait to be applied, and since when the oldest has. */
export async function intakeBacklog(db: Kysely<Database>): Promise<{ waiting: number; oldestAt: Date | null }> {
  const r = await db
    .selectFrom('event_intake')
    .select([sql<number>`count(*)::int`.as('n'), sql<Date | null>`min(received_at)`.as('oldest')])
    .executeTakeFirstOrThrow();
  return { waiting: Number(r.n), oldestAt: r.oldest === null ? null : new Date(r.oldest) };
}
