import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * Indexes the reports (`nurture report`, the dashboard) read through, so each answers in well
 * under a second over a million events:
 * - a contact's first opt-in (and its source) without sorting all events: by type, contact, time;
 *   the same index finds a contact's `appointment_requested` events;
 * - opens and clicks of a touch: only events tied to a touch, by type and touch;
 * - completed call tasks with an outcome (first conversation), by contact.
 * Frozen like every migration: imports nothing from the app.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('events_type_contact_id_occurred_at_idx').on('events').columns(['type', 'contact_id', 'occurred_at', 'seq']).execute();
  await db.schema
    .createIndex('events_touch_engagement_idx')
    .on('events')
    .columns(['touch_id', 'type'])
    .where(sql.ref('touch_id'), 'is not', null)
    .execute();
  await db.schema
    .createIndex('tasks_call_outcome_idx')
    .on('tasks')
    .columns(['contact_id', 'completed_at'])
    .where(sql<boolean>`kind = 'call' and outcome is not null`)
    .execute();
  await db.schema.createIndex('stage_changes_to_stage_idx').on('stage_changes').columns(['kind', 'to_stage', 'contact_id', 'at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('stage_changes_to_stage_idx').execute();
  await db.schema.dropIndex('tasks_call_outcome_idx').execute();
  await db.schema.dropIndex('events_touch_engagement_idx').execute();
  await db.schema.dropIndex('events_type_contact_id_occurred_at_idx').execute();
}
