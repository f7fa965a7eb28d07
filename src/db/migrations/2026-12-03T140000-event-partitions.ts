import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * `events` becomes a table partitioned by month of `received_at` (UTC), so a store with tens of
 * millions of events keeps each month's rows and indexes apart, and old months can be dropped
 * whole (NURTURE_EVENTS_RETENTION) instead of deleted row by row.
 *
 * - Why `received_at`: every insert lands in the current month's partition whatever the
 *   producer wrote in `occurredAt` (an import of last year's history does not scatter), and
 *   retention counts from when the store got an event.
 * - Dedupe: a partitioned table's unique keys must include the partition key, so `events.id`
 *   alone can no longer be unique there. `event_ids` (unpartitioned, id primary key) holds every
 *   applied id with its `received_at`; a BEFORE INSERT row trigger inserts the id there first
 *   (ON CONFLICT DO NOTHING) and skips the event when the id was seen, so
 *   `insert into events ... returning id` still returns only the new ones, for every writer.
 *   Dropping a partition keeps its ids: a redelivery of a dropped event is still a duplicate.
 *   A DELETE on `events` forgets the ids it deleted, as the old primary key did.
 * - `events_default` catches rows of a month without a partition, so no insert ever fails;
 *   `events_add_partition(month)` moves that month's rows out of it before attaching.
 * - Touches stay unpartitioned: they are mutable outbox rows referenced by id from mail links,
 *   tasks, pending opt-ins (a foreign key) and rollups, and deduplicated by `key`; there are far
 *   fewer of them than events (see README, "Partitioning and retention").
 * - Existing rows are copied in place (same seq, same ids) within the migration's transaction;
 *   the rollup triggers of 2026-12-02T160500 are recreated on the new table, and the rollups
 *   are not recomputed (the rows are the same).
 * Frozen like every migration: imports nothing from the app.
 */

const COLUMNS = 'id, contact_id, type, occurred_at, received_at, data, touch_id, seq, body_hash, contact, occurred_at_defaulted';

/** Months ahead of the current one created now; the engine's maintenance keeps it so. */
const AHEAD = 3;

async function recreateReportTriggers(db: Kysely<any>): Promise<void> {
  await sql`create trigger events_report_insert after insert on events referencing new table as changed for each statement execute function report_on_events()`.execute(db);
  await sql`create trigger events_report_delete after delete on events referencing old table as changed for each statement execute function report_on_events()`.execute(db);
}

async function createIndexes(db: Kysely<any>): Promise<void> {
  await sql`create index events_contact_id_seq_idx on events (contact_id, seq)`.execute(db);
  await sql`create index events_type_contact_id_occurred_at_idx on events (type, contact_id, occurred_at, seq)`.execute(db);
  await sql`create index events_touch_engagement_idx on events (touch_id, type) where touch_id is not null`.execute(db);
}

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table events rename to events_unpartitioned`.execute(db);
  await sql`drop trigger events_report_insert on events_unpartitioned`.execute(db);
  await sql`drop trigger events_report_delete on events_unpartitioned`.execute(db);
  await sql`alter table events_unpartitioned rename constraint events_pkey to events_unpartitioned_pkey`.execute(db);
  for (const ix of ['events_contact_id_seq_idx', 'events_type_contact_id_occurred_at_idx', 'events_touch_engagement_idx']) {
    await sql`drop index ${sql.raw(ix)}`.execute(db);
  }
  // The arrival order goes on where it was: the new table takes over the sequence.
  await sql`alter sequence events_seq_seq owned by none`.execute(db);

  await sql`create table events (
    id text not null,
    contact_id uuid not null references contacts(id) on delete cascade,
    type text not null,
    occurred_at timestamptz not null,
    received_at timestamptz not null default now(),
    data jsonb not null default '{}'::jsonb,
    touch_id uuid,
    seq bigint not null default nextval('events_seq_seq'),
    body_hash text,
    contact jsonb,
    occurred_at_defaulted boolean not null default false,
    constraint events_pkey primary key (id, received_at)
  ) partition by range (received_at)`.execute(db);
  await sql`alter sequence events_seq_seq owned by events.seq`.execute(db);
  await sql`create table events_default partition of events default`.execute(db);

  await sql`create table event_ids (
    id text primary key,
    received_at timestamptz not null
  )`.execute(db);

  await sql`
    create function events_add_partition(month date) returns boolean language plpgsql as $$
    declare
      lo timestamptz := date_trunc('month', month::timestamp) at time zone 'UTC';
      hi timestamptz := (date_trunc('month', month::timestamp) + interval '1 month') at time zone 'UTC';
      name text := 'events_' || to_char(month, '"y"YYYY"m"MM');
    begin
      if exists (select 1 from pg_inherits i join pg_class c on c.oid = i.inhrelid
                 where i.inhparent = 'events'::regclass and c.relname = name) then
        return false;
      end if;
      -- Rows of that month that went to the default partition move to their own (LIKE copies no
      -- triggers, and a direct write to a partition fires none of the parent's statement triggers).
      execute format('create table %I (like events including defaults including constraints including storage)', name);
      execute format('insert into %I select * from events_default where received_at >= $1 and received_at < $2', name) using lo, hi;
      delete from events_default where received_at >= lo and received_at < hi;
      execute format('alter table events attach partition %I for values from (%L) to (%L)', name, lo, hi);
      return true;
    end $$`.execute(db);

  await sql`
    create function events_claim_id() returns trigger language plpgsql as $$
    begin
      insert into event_ids (id, received_at) values (new.id, new.received_at) on conflict (id) do nothing;
      if not found then return null; end if;
      return new;
    end $$`.execute(db);
  await sql`
    create function events_forget_ids() returns trigger language plpgsql as $$
    begin
      delete from event_ids i using changed c where i.id = c.id and i.received_at = c.received_at;
      return null;
    end $$`.execute(db);

  // A partition for every month that has events, and for this month and the next few.
  await sql`
    select events_add_partition(m::date) from (
      select distinct date_trunc('month', received_at at time zone 'UTC') as m from events_unpartitioned
      union
      select date_trunc('month', now() at time zone 'UTC') + make_interval(months => g) from generate_series(0, ${sql.lit(AHEAD)}) g
    ) months order by m`.execute(db);

  await sql`insert into event_ids (id, received_at) select id, received_at from events_unpartitioned`.execute(db);
  await sql`insert into events (${sql.raw(COLUMNS)}) select ${sql.raw(COLUMNS)} from events_unpartitioned`.execute(db);
  await sql`drop table events_unpartitioned`.execute(db);

  // Built once over the copied rows rather than row by row while copying.
  await createIndexes(db);
  await sql`create trigger events_claim_id before insert on events for each row execute function events_claim_id()`.execute(db);
  await sql`create trigger events_forget_ids after delete on events referencing old table as changed for each statement execute function events_forget_ids()`.execute(db);
  await recreateReportTriggers(db);
  await sql`analyze events`.execute(db);
  await sql`analyze event_ids`.execute(db);
}

/** Back to one table with `id` as its primary key; every row is kept (dropped partitions stay dropped). */
export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter sequence events_seq_seq owned by none`.execute(db);
  await sql`create table events_unpartitioned (
    id text primary key,
    contact_id uuid not null references contacts(id) on delete cascade,
    type text not null,
    occurred_at timestamptz not null,
    received_at timestamptz not null default now(),
    data jsonb not null default '{}'::jsonb,
    touch_id uuid,
    seq bigint not null default nextval('events_seq_seq'),
    body_hash text,
    contact jsonb,
    occurred_at_defaulted boolean not null default false
  )`.execute(db);
  await sql`insert into events_unpartitioned (${sql.raw(COLUMNS)}) select ${sql.raw(COLUMNS)} from events`.execute(db);
  await sql`drop table events`.execute(db);
  await sql`drop table event_ids`.execute(db);
  await sql`drop function events_forget_ids()`.execute(db);
  await sql`drop function events_claim_id()`.execute(db);
  await sql`drop function events_add_partition(date)`.execute(db);
  await sql`alter table events_unpartitioned rename to events`.execute(db);
  await sql`alter table events rename constraint events_unpartitioned_pkey to events_pkey`.execute(db);
  await sql`alter table events rename constraint events_unpartitioned_contact_id_fkey to events_contact_id_fkey`.execute(db);
  await sql`alter sequence events_seq_seq owned by events.seq`.execute(db);
  await createIndexes(db);
  await recreateReportTriggers(db);
}
