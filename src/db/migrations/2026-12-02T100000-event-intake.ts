import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * Events received over HTTP are committed here before they are answered, so a Redis that loses
 * its data right after the answer loses none of them: the engine's drainer offers each row to
 * the events queue until the event is applied (its id is in `events`) or rejected (in
 * `failed_events`), then deletes it. `webhook_receipts` holds the ids of signed webhooks seen,
 * so a replayed webhook applies nothing twice.
 * Frozen like every migration: imports nothing from the app.
 */

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('event_intake')
    // The event id: an event posted twice before it was applied waits once.
    .addColumn('id', 'text', (c) => c.primaryKey())
    // The event as the producer sent it (parsed and valid), as it goes onto the queue.
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    // `api` (a bearer key), `webhook`, or the edge use case that took it (a form, a click).
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // Last put on the queue; null: never yet.
    .addColumn('offered_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('event_intake_received_at_idx').on('event_intake').column('received_at').execute();

  await db.schema
    .createTable('webhook_receipts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('events', 'integer', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('webhook_receipts_received_at_idx').on('webhook_receipts').column('received_at').execute();

  // The drainer asks, for each waiting event, whether it was rejected.
  await db.schema.createIndex('failed_events_event_id_idx').on('failed_events').column('event_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('failed_events_event_id_idx').execute();
  await db.schema.dropTable('webhook_receipts').execute();
  await db.schema.dropTable('event_intake').execute();
}
