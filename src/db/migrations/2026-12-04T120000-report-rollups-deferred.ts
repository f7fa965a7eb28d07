import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * The `report_contacts` rollup (migration 2026-12-02T160500) leaves the writer's transaction.
 * Recomputing a contact's row in every transaction that touched it was half of PostgreSQL's
 * statement time on the opt-in path (each new contact: its row inserted by the events trigger,
 * then updated again by the enrollments trigger). Now the triggers only name the contact in
 * `report_pending`, in the writer's transaction; `report_catch_up(n, up_to)` takes up to n names
 * (oldest first, none after `up_to`), recomputes those contacts and returns how many names it
 * took, in one transaction, one catch-up at a time (an advisory lock). The engine calls it every
 * few seconds and every report calls it before reading, so a report is as exact as before.
 *
 * No lost update under READ COMMITTED: a writer that commits after the catch-up's DELETE took
 * its snapshot left a name the catch-up did not take, so that contact is recomputed again next
 * time; one that committed before is in what the recompute reads (each of its statements takes
 * a newer snapshot). Catch-ups never overlap, so an older result never overwrites a newer one.
 *
 * No locks on contacts: the rollup's foreign key to `contacts` goes. Inserting a row under it
 * took FOR KEY SHARE on the contact, which waits for the engine's FOR UPDATE and, with the
 * engine locking in its own order, deadlocked with it. Nurture never deletes a contact (erasure
 * blanks it); one deleted by hand takes its events along, whose delete trigger names it, and
 * the recompute drops its row.
 *
 * `report_touch_engagement` stays in the writer's transaction: it is written for opens and
 * clicks only, one upsert per touch. Frozen like every migration: imports nothing from the app.
 */

/** report_refresh_contacts of migration 2026-12-02T160500 without its contact locks (see above for why). */
const RECOMPUTE_BODY = `
    begin
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
    end`;

const ENGAGEMENT = `
      if TG_OP = 'INSERT' then
        insert into report_touch_engagement as g (touch_id, opened_at, clicked_at)
        select touch_id, min(occurred_at) filter (where type = 'email_opened'), min(occurred_at) filter (where type = 'email_clicked')
        from changed where touch_id is not null and type in ('email_opened', 'email_clicked')
          and (data->>'suspectedScanner') is distinct from 'true' group by touch_id
        on conflict (touch_id) do update set
          opened_at = least(g.opened_at, excluded.opened_at), clicked_at = least(g.clicked_at, excluded.clicked_at);
      end if;`;

/**
 * The trigger functions of 2026-12-02T160500 whose changes concern `report_contacts`, which of
 * the changed rows do, and what else the function does (the events one keeps the engagement).
 * The enrollments one differs in kind and is written out below.
 */
const SOURCES = [
  { fn: 'report_on_events', where: `type in ('opt_in', 'appointment_requested')`, tail: ENGAGEMENT },
  { fn: 'report_on_stage_changes', where: `kind = 'stage'`, tail: '' },
  { fn: 'report_on_tasks', where: `kind = 'call' and outcome is not null`, tail: '' },
] as const;

export async function up(db: Kysely<any>): Promise<void> {
  // In the order writers take them (a contact, then through the old triggers its rollup row), so
  // writers of the release before wait for this rather than deadlock with it: dropping the
  // foreign key below needs both, and asked for one at a time it held the rollup while writers
  // holding contacts waited for it (a rolling restart then failed to start most tries).
  await sql`lock table contacts, report_contacts in access exclusive mode`.execute(db);
  // seq: names are taken oldest first, and a report takes none named after it began.
  await sql`create table report_pending (seq bigserial primary key, contact_id uuid not null)`.execute(db);
  await sql`alter table report_contacts drop constraint report_contacts_contact_id_fkey`.execute(db);
  await sql.raw(`create function report_recompute_contacts(ids uuid[]) returns void language plpgsql as $$${RECOMPUTE_BODY} $$`).execute(db);
  await sql`
    create function report_catch_up(max_names int, up_to bigint) returns int language plpgsql as $$
    declare ids uuid[]; taken_count int;
    begin
      perform pg_advisory_xact_lock(hashtext('nurture.report_catch_up'));
      with taken as (
        delete from report_pending p
        where p.seq in (select q.seq from report_pending q where up_to is null or q.seq <= up_to order by q.seq limit max_names)
        returning p.contact_id)
      select count(*), array_agg(distinct contact_id) into taken_count, ids from taken;
      if ids is not null then perform report_recompute_contacts(ids); end if;
      return taken_count;
    end $$`.execute(db);

  for (const { fn, where, tail } of SOURCES) {
    await sql.raw(`
      create or replace function ${fn}() returns trigger language plpgsql as $$
      begin
        insert into report_pending (contact_id) select distinct contact_id from changed where ${where};${tail}
        return null;
      end $$`).execute(db);
  }
  // Named unless its row lists the sequence already: a contact without a row may be recomputed
  // from its opt-in by a catch-up that began before this enrollment was committed.
  await sql`
    create or replace function report_on_enrollments() returns trigger language plpgsql as $$
    begin
      insert into report_pending (contact_id)
      select distinct n.contact_id from changed n
      where not exists (select 1 from report_contacts r where r.contact_id = n.contact_id and r.sequences @> array[n.sequence_id]);
      return null;
    end $$`.execute(db);
}

/**
 * Best run with the engine stopped, as every down. Writers still waiting for these locks when it
 * commits may fail on the dropped table; nothing is lost, their transactions are retried
 * (test/integration/report-rollups-down-race.test.ts races it with writers).
 */
export async function down(db: Kysely<any>): Promise<void> {
  // No writer names a contact from here on (they wait for this transaction), and what is still
  // named is recomputed first: nothing is left behind for the triggers of before.
  // Contacts first, as writers take them (and the foreign key added below needs them): asked for
  // after report_pending, writers holding contacts and waiting for report_pending deadlocked with
  // it. Exclusive, not share row exclusive: the engine also locks a contact FOR UPDATE (ROW SHARE),
  // names it through a trigger, then updates it, and share row exclusive lets it in first.
  await sql`lock table contacts in exclusive mode`.execute(db);
  await sql`lock table report_pending in exclusive mode`.execute(db);
  await sql`select report_catch_up(2147483647, null)`.execute(db);
  await sql`delete from report_contacts r where not exists (select 1 from contacts c where c.id = r.contact_id)`.execute(db);
  await sql`alter table report_contacts add constraint report_contacts_contact_id_fkey foreign key (contact_id) references contacts(id) on delete cascade`.execute(db);
  for (const { fn, where, tail } of SOURCES) {
    await sql.raw(`
      create or replace function ${fn}() returns trigger language plpgsql as $$
      declare ids uuid[];
      begin
        select array_agg(distinct contact_id) into ids from changed where ${where};
        if ids is not null then perform report_refresh_contacts(ids); end if;${tail}
        return null;
      end $$`).execute(db);
  }
  await sql`
    create or replace function report_on_enrollments() returns trigger language plpgsql as $$
    begin
      update report_contacts r set sequences = (select array(select distinct s from unnest(r.sequences || n.seqs) s order by 1))
      from (select contact_id, array_agg(distinct sequence_id) as seqs from changed group by contact_id) n
      where r.contact_id = n.contact_id and not (r.sequences @> n.seqs);
      return null;
    end $$`.execute(db);
  await sql`drop function report_catch_up(int, bigint)`.execute(db);
  await sql`drop function report_recompute_contacts(uuid[])`.execute(db);
  await sql`drop table report_pending`.execute(db);
}
