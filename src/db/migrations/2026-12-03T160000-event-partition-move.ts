import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * `events_add_partition(month)` moves the month's rows out of `events_default` atomically.
 *
 * Before: an INSERT ... SELECT copied the rows and a separate DELETE removed them, each with its
 * own snapshot (READ COMMITTED). A row committed into the default partition between the two was
 * deleted without being copied, while its id stayed in `event_ids`: every redelivery was then a
 * duplicate, and the event was lost for good.
 *
 * Now:
 * - The function locks `events` (ONLY, exclusive: reads go on, writes wait) and `events_default`
 *   (access exclusive) before it reads a row. No insert into the default partition can commit
 *   while the rows move, and one already under way is waited for, so its row moves too.
 *   Exclusive on the parent, not just ATTACH's share update exclusive: an insert that planned
 *   against the partitions as they were routes its row to the default, and PostgreSQL then
 *   refuses it ("violates partition constraint", SQLSTATE 23514, which the events worker rejects
 *   for good); waiting on the parent, it plans afterwards and lands in the new partition. The
 *   locks are taken in ATTACH's order (parent, then default), and the default's at ATTACH's own
 *   mode, so nothing is upgraded half-way. A deadlock with a transaction that read `events` and
 *   then writes it is still possible; PostgreSQL aborts one of the two (40P01, retried by the
 *   callers as transient) and nothing is lost.
 * - The rows move in one statement (a DELETE ... RETURNING feeding the INSERT), so what is
 *   deleted is by construction what is copied, whatever the isolation level.
 * - The partition is still created as a plain table and attached once the default holds no row
 *   of its range (a partition cannot be created for a range while the default holds rows of it).
 * - The existence check runs again under the lock: a second caller that waited finds the
 *   partition made by the first and returns false, as before, instead of failing on the name.
 * Down restores the previous body. Frozen like every migration: imports nothing from the app.
 */

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create or replace function events_add_partition(month date) returns boolean language plpgsql as $$
    declare
      lo timestamptz := date_trunc('month', month::timestamp) at time zone 'UTC';
      hi timestamptz := (date_trunc('month', month::timestamp) + interval '1 month') at time zone 'UTC';
      name text := 'events_' || to_char(month, '"y"YYYY"m"MM');
    begin
      if exists (select 1 from pg_inherits i join pg_class c on c.oid = i.inhrelid
                 where i.inhparent = 'events'::regclass and c.relname = name) then
        return false;
      end if;
      lock table only events in exclusive mode;
      lock table events_default in access exclusive mode;
      if exists (select 1 from pg_inherits i join pg_class c on c.oid = i.inhrelid
                 where i.inhparent = 'events'::regclass and c.relname = name) then
        return false;
      end if;
      -- Rows of that month that went to the default partition move to their own (LIKE copies no
      -- triggers, and a direct write to a partition fires none of the parent's statement triggers).
      execute format('create table %I (like events including defaults including constraints including storage)', name);
      execute format('with moved as (delete from events_default where received_at >= $1 and received_at < $2 returning *) insert into %I select * from moved', name) using lo, hi;
      execute format('alter table events attach partition %I for values from (%L) to (%L)', name, lo, hi);
      return true;
    end $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    create or replace function events_add_partition(month date) returns boolean language plpgsql as $$
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
}
