import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * Rollups the reports read instead of scanning a million events, kept by triggers in the writer's
 * own transaction (whoever writes: the engine, a command, a future stage rule), so they are
 * never behind and no application code has to remember them:
 *
 * - `report_contacts`: one row per opted-in contact: first opt-in (time, `data.source`), the
 *   furthest funnel stage reached after it (0 subscriber .. 4 customer), the first stage change to
 *   lead or beyond, the first conversation (a call task completed as `connected` or
 *   `appointment_booked`, or an `appointment_requested` event), and the sequences it was enrolled
 *   in. A change to any of its sources recomputes the contact's row from them (index lookups), so
 *   events arriving out of order still give the right first opt-in. The contact rows are locked
 *   first (as the engine does), so two transactions about one contact do not both write a stale row.
 * - `report_touch_engagement`: one row per touch that was opened or clicked (first times).
 *
 * Statement-level triggers with transition tables: a batch of 200 events costs one call.
 * Frozen like every migration: imports nothing from the app.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table report_contacts (
    contact_id uuid primary key references contacts(id) on delete cascade,
    opted_in_at timestamptz not null,
    source text not null,
    reached smallint not null default 0,
    lead_at timestamptz,
    conversation_at timestamptz,
    sequences text[] not null default '{}'
  )`.execute(db);
  await sql`create index report_contacts_opted_in_at_idx on report_contacts (opted_in_at)`.execute(db);
  await sql`create table report_touch_engagement (
    touch_id uuid primary key,
    opened_at timestamptz,
    clicked_at timestamptz
  )`.execute(db);

  await sql`
    create function report_refresh_contacts(ids uuid[]) returns void language plpgsql as $$
    begin
      -- unnest, not = any(ids): a bulk write can name 100,000 contacts, and a join stays linear.
      perform 1 from contacts c join unnest(ids) x(id) on c.id = x.id order by c.id for update of c;
      delete from report_contacts r using unnest(ids) x(id) where r.contact_id = x.id
        and not exists (select 1 from events e where e.type = 'opt_in' and e.contact_id = r.contact_id);
      insert into report_contacts as r (contact_id, opted_in_at, source, reached, lead_at, conversation_at, sequences)
      select o.contact_id, o.opted_in_at, o.source,
        coalesce((select max(case sc.to_stage when 'engaged' then 1 when 'mql' then 2 when 'lead' then 3 when 'customer' then 4 else 0 end)
                  from stage_changes sc where sc.contact_id = o.contact_id and sc.kind = 'stage' and sc.at >= o.opted_in_at), 0),
        (select min(sc.at) from stage_changes sc
          where sc.contact_id = o.contact_id and sc.kind = 'stage' and sc.to_stage in ('lead', 'customer') and sc.at >= o.opted_in_at),
        least(
          (select min(t.completed_at) from tasks t
            where t.contact_id = o.contact_id and t.kind = 'call' and t.outcome is not null
              and lower(trim(t.outcome)) in ('connected', 'appointment_booked') and t.completed_at >= o.opted_in_at),
          (select min(e.occurred_at) from events e
            where e.type = 'appointment_requested' and e.contact_id = o.contact_id and e.occurred_at >= o.opted_in_at)),
        array(select distinct en.sequence_id from enrollments en where en.contact_id = o.contact_id order by 1)
      from (
        select distinct on (e.contact_id) e.contact_id, e.occurred_at as opted_in_at,
               coalesce(nullif(e.data->>'source', ''), '(none)') as source
        from events e join (select distinct u.id from unnest(ids) u(id)) x on e.contact_id = x.id where e.type = 'opt_in'
        order by e.contact_id, e.occurred_at, e.seq
      ) o
      on conflict (contact_id) do update set opted_in_at = excluded.opted_in_at, source = excluded.source, reached = excluded.reached,
        lead_at = excluded.lead_at, conversation_at = excluded.conversation_at, sequences = excluded.sequences;
    end $$`.execute(db);

  // What each table's change means for the rollups.
  await sql`
    create function report_on_events() returns trigger language plpgsql as $$
    declare ids uuid[];
    begin
      select array_agg(distinct contact_id) into ids from changed where type in ('opt_in', 'appointment_requested');
      if ids is not null then perform report_refresh_contacts(ids); end if;
      if TG_OP = 'INSERT' then
        insert into report_touch_engagement as g (touch_id, opened_at, clicked_at)
        select touch_id, min(occurred_at) filter (where type = 'email_opened'), min(occurred_at) filter (where type = 'email_clicked')
        from changed where touch_id is not null and type in ('email_opened', 'email_clicked')
          and (data->>'suspectedScanner') is distinct from 'true' group by touch_id
        on conflict (touch_id) do update set
          opened_at = least(g.opened_at, excluded.opened_at), clicked_at = least(g.clicked_at, excluded.clicked_at);
      end if;
      return null;
    end $$`.execute(db);
  await sql`
    create function report_on_stage_changes() returns trigger language plpgsql as $$
    declare ids uuid[];
    begin
      select array_agg(distinct contact_id) into ids from changed where kind = 'stage';
      if ids is not null then perform report_refresh_contacts(ids); end if;
      return null;
    end $$`.execute(db);
  await sql`
    create function report_on_tasks() returns trigger language plpgsql as $$
    declare ids uuid[];
    begin
      select array_agg(distinct contact_id) into ids from changed where kind = 'call' and outcome is not null;
      if ids is not null then perform report_refresh_contacts(ids); end if;
      return null;
    end $$`.execute(db);
  // An enrollment only adds a sequence to a contact already counted (the opt-in recompute adds the rest).
  await sql`
    create function report_on_enrollments() returns trigger language plpgsql as $$
    begin
      update report_contacts r set sequences = (select array(select distinct s from unnest(r.sequences || n.seqs) s order by 1))
      from (select contact_id, array_agg(distinct sequence_id) as seqs from changed group by contact_id) n
      where r.contact_id = n.contact_id and not (r.sequences @> n.seqs);
      return null;
    end $$`.execute(db);

  for (const [table, fn] of [['events', 'report_on_events'], ['stage_changes', 'report_on_stage_changes'], ['tasks', 'report_on_tasks']] as const) {
    await sql`create trigger ${sql.raw(`${table}_report_insert`)} after insert on ${sql.table(table)} referencing new table as changed for each statement execute function ${sql.raw(fn)}()`.execute(db);
    await sql`create trigger ${sql.raw(`${table}_report_delete`)} after delete on ${sql.table(table)} referencing old table as changed for each statement execute function ${sql.raw(fn)}()`.execute(db);
  }
  await sql`create trigger tasks_report_update after update on tasks referencing new table as changed for each statement execute function report_on_tasks()`.execute(db);
  await sql`create trigger enrollments_report_insert after insert on enrollments referencing new table as changed for each statement execute function report_on_enrollments()`.execute(db);

  // What is there already.
  await sql`select report_refresh_contacts(array(select distinct contact_id from events where type = 'opt_in'))`.execute(db);
  await sql`
    insert into report_touch_engagement (touch_id, opened_at, clicked_at)
    select touch_id, min(occurred_at) filter (where type = 'email_opened'), min(occurred_at) filter (where type = 'email_clicked')
    from events where touch_id is not null and type in ('email_opened', 'email_clicked')
      and (data->>'suspectedScanner') is distinct from 'true' group by touch_id`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger enrollments_report_insert on enrollments`.execute(db);
  await sql`drop trigger tasks_report_update on tasks`.execute(db);
  for (const table of ['events', 'stage_changes', 'tasks']) {
    await sql`drop trigger ${sql.raw(`${table}_report_insert`)} on ${sql.table(table)}`.execute(db);
    await sql`drop trigger ${sql.raw(`${table}_report_delete`)} on ${sql.table(table)}`.execute(db);
  }
  for (const fn of ['report_on_enrollments', 'report_on_tasks', 'report_on_stage_changes', 'report_on_events']) await sql`drop function ${sql.raw(fn)}()`.execute(db);
  await sql`drop function report_refresh_contacts(uuid[])`.execute(db);
  await sql`drop table report_touch_engagement`.execute(db);
  await sql`drop table report_contacts`.execute(db);
}
