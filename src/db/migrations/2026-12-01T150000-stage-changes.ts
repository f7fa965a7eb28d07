import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * The contact's lifecycle: `contacts.status` holds the stage (the funnel now has room for the
 * stages lead scoring will reach), and every transition is kept in `stage_changes` with its reason
 * and the event that caused it. Existing promotions, unsubscribes and bounces are backfilled from
 * the contact's columns; a past resubscribe cannot be (it cleared `unsubscribed_at`).
 * Frozen like every migration: imports nothing from the app.
 */

const STAGES = ['subscriber', 'engaged', 'mql', 'lead', 'customer', 'disqualified'];
const KINDS = ['stage', 'unsubscribed', 'resubscribed', 'bounced'];

function inList(values: readonly string[]) {
  return sql.join(values.map((v) => sql.lit(v)));
}

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table contacts drop constraint contacts_status_check`.execute(db);
  await sql`alter table contacts add constraint contacts_status_check check (status in (${inList(STAGES)}))`.execute(db);

  await db.schema
    .createTable('stage_changes')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('contact_id', 'uuid', (c) => c.notNull().references('contacts.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('from_stage', 'text', (c) => c.notNull())
    .addColumn('to_stage', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    // Null only for backfilled rows whose event could not be found (or was never stored).
    .addColumn('event_id', 'text')
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addCheckConstraint('stage_changes_kind_check', sql`kind in (${inList(KINDS)})`)
    .addCheckConstraint('stage_changes_from_stage_check', sql`from_stage in (${inList(STAGES)})`)
    .addCheckConstraint('stage_changes_to_stage_check', sql`to_stage in (${inList(STAGES)})`)
    .addCheckConstraint('stage_changes_reason_check', sql`reason <> ''`)
    .execute();
  await db.schema.createIndex('stage_changes_contact_id_at_idx').on('stage_changes').columns(['contact_id', 'at', 'id']).execute();

  // The stage a contact was in at an instant, as far as the columns tell: a lead from its promotion on.
  const stageAt = (col: string) => sql`case when c.status = 'lead' and c.promoted_at <= ${sql.ref(`c.${col}`)} then 'lead' else 'subscriber' end`;
  // The event of that type nearest the instant the engine stored (it applied the event then).
  const eventNear = (type: ReturnType<typeof sql>, col: string) =>
    sql`(select e.id from events e where e.contact_id = c.id and e.type = ${type}
         order by abs(extract(epoch from (e.received_at - ${sql.ref(`c.${col}`)}))), e.seq limit 1)`;

  await sql`
    insert into stage_changes (contact_id, kind, from_stage, to_stage, reason, event_id, at)
    select c.id, 'stage', 'subscriber', 'lead', coalesce(nullif(c.promotion_reason, ''), 'unknown (before stage_changes)'),
           ${eventNear(sql`substr(c.promotion_reason, 7)`, 'promoted_at')}, coalesce(c.promoted_at, c.updated_at)
    from contacts c where c.status = 'lead'`.execute(db);
  await sql`
    insert into stage_changes (contact_id, kind, from_stage, to_stage, reason, event_id, at)
    select c.id, 'unsubscribed', ${stageAt('unsubscribed_at')}, ${stageAt('unsubscribed_at')}, 'event:unsubscribed',
           ${eventNear(sql`'unsubscribed'`, 'unsubscribed_at')}, c.unsubscribed_at
    from contacts c where c.unsubscribed_at is not null`.execute(db);
  await sql`
    insert into stage_changes (contact_id, kind, from_stage, to_stage, reason, event_id, at)
    select c.id, 'bounced', ${stageAt('bounced_at')}, ${stageAt('bounced_at')}, 'event:bounced',
           ${eventNear(sql`'bounced'`, 'bounced_at')}, c.bounced_at
    from contacts c where c.bounced_at is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('stage_changes').execute();
  await sql`alter table contacts drop constraint contacts_status_check`.execute(db);
  // NOT VALID: contacts already in a newer stage stay; new ones are refused again.
  await sql`alter table contacts add constraint contacts_status_check check (status in ('subscriber', 'lead')) not valid`.execute(db);
}
