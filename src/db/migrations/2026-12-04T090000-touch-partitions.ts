import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * `touches` becomes a table partitioned by month of `created_at` (UTC), as `events` was
 * (2026-12-03T140000): each month's outbox rows and indexes stay apart, and a retention
 * (NURTURE_TOUCHES_RETENTION) can drop old months whole.
 *
 * - Why `created_at`: it is set once, when the step runs, and never updated, so a row never
 *   moves between partitions while it goes from pending to sent; the sweeper already pages
 *   unsent emails in (created_at, id) order, which a partitioned table serves as an ordered
 *   append of the partitions' indexes.
 * - The primary key becomes (id, created_at): a partitioned table's unique keys must include the
 *   partition key. `id` stays a random uuid, so it is still unique on its own; lookups by id probe
 *   each partition's primary-key index (one probe a month kept).
 * - Dedupe by `key` (a step never runs twice) cannot be a unique index on the parent any more.
 *   `touch_keys` (unpartitioned, key primary key) holds the key of every touch stored; a BEFORE
 *   INSERT row trigger claims the key there first (ON CONFLICT DO NOTHING, which waits on a
 *   concurrent claim of the same key like the old unique index did) and skips the row when the
 *   key was taken, so `insert into touches ... returning id` returns only the new ones. A DELETE
 *   on `touches` (a contact's erasure cascades) forgets its keys, as the old unique key did.
 *   Dropping a partition keeps its keys: a step of a touch past retention still never runs twice.
 * - `pending_opt_ins.touch_id` referenced `touches(id)` with ON DELETE SET NULL; a foreign key to
 *   a partitioned table must name its whole primary key, so the reference is kept by the delete
 *   trigger instead (and by the retention, which clears it before dropping a month).
 * - `touches_default` catches rows of a month without a partition, so no insert ever fails;
 *   `touches_add_partition(month)` moves that month's rows out of it atomically, as
 *   `events_add_partition` does (2026-12-03T160000).
 * - The partition key is fixed once written, on `touches.created_at` and on `events.received_at`
 *   alike: an UPDATE of it would move the row to another partition as a delete and an insert,
 *   and the insert trigger would find the row's own key (or id) claimed and drop it, so the row
 *   would vanish. A BEFORE UPDATE trigger refuses such an update instead (SQLSTATE 0A000). The
 *   engine never changes either column.
 * - Existing rows are copied in place (same ids, same keys) within the migration's transaction.
 * Frozen like every migration: imports nothing from the app.
 */

const COLUMNS =
  'id, key, enrollment_id, contact_id, sequence_id, step_id, kind, template, status, attempts, in_doubt, message_id, subject, error, due_at, sent_at, created_at, failed_at, last_clicked_at';

/** Months ahead of the current one created now; the engine's maintenance keeps it so. */
const AHEAD = 3;

const INDEXES = ['touches_contact_id_kind_created_at_idx', 'touches_enrollment_id_idx', 'touches_outbox_idx', 'touches_unsent_idx'];

async function createIndexes(db: Kysely<any>): Promise<void> {
  await sql`create index touches_contact_id_kind_created_at_idx on touches (contact_id, kind, created_at)`.execute(db);
  await sql`create index touches_enrollment_id_idx on touches (enrollment_id)`.execute(db);
  await sql`create index touches_outbox_idx on touches (status, created_at) where status in ('pending', 'sending')`.execute(db);
  await sql`create index touches_unsent_idx on touches (created_at, id) where kind = 'email' and status in ('pending', 'sending')`.execute(db);
}

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table pending_opt_ins drop constraint pending_opt_ins_touch_id_fkey`.execute(db);
  await sql`alter table touches rename to touches_unpartitioned`.execute(db);
  await sql`alter table touches_unpartitioned rename constraint touches_pkey to touches_unpartitioned_pkey`.execute(db);
  await sql`alter table touches_unpartitioned rename constraint touches_key_key to touches_unpartitioned_key_key`.execute(db);
  for (const ix of INDEXES) await sql`drop index ${sql.raw(ix)}`.execute(db);

  // LIKE keeps the columns in their order, their defaults, NOT NULLs and the kind and status checks.
  await sql`create table touches (
    like touches_unpartitioned including defaults including constraints including storage,
    constraint touches_pkey primary key (id, created_at)
  ) partition by range (created_at)`.execute(db);
  await sql`alter table touches add constraint touches_contact_id_fkey foreign key (contact_id) references contacts(id) on delete cascade`.execute(db);
  await sql`create table touches_default partition of touches default`.execute(db);

  await sql`create table touch_keys (key text primary key)`.execute(db);

  await sql`
    create function touches_add_partition(month date) returns boolean language plpgsql as $$
    declare
      lo timestamptz := date_trunc('month', month::timestamp) at time zone 'UTC';
      hi timestamptz := (date_trunc('month', month::timestamp) + interval '1 month') at time zone 'UTC';
      name text := 'touches_' || to_char(month, '"y"YYYY"m"MM');
    begin
      if exists (select 1 from pg_inherits i join pg_class c on c.oid = i.inhrelid
                 where i.inhparent = 'touches'::regclass and c.relname = name) then
        return false;
      end if;
      -- Why these locks, in this order, and the move in one statement: 2026-12-03T160000.
      lock table only touches in exclusive mode;
      lock table touches_default in access exclusive mode;
      if exists (select 1 from pg_inherits i join pg_class c on c.oid = i.inhrelid
                 where i.inhparent = 'touches'::regclass and c.relname = name) then
        return false;
      end if;
      execute format('create table %I (like touches including defaults including constraints including storage)', name);
      execute format('with moved as (delete from touches_default where created_at >= $1 and created_at < $2 returning *) insert into %I select * from moved', name) using lo, hi;
      execute format('alter table touches attach partition %I for values from (%L) to (%L)', name, lo, hi);
      return true;
    end $$`.execute(db);

  await sql`
    create function touches_claim_key() returns trigger language plpgsql as $$
    begin
      insert into touch_keys (key) values (new.key) on conflict (key) do nothing;
      if not found then return null; end if;
      return new;
    end $$`.execute(db);
  await sql`
    create function touches_forget() returns trigger language plpgsql as $$
    begin
      delete from touch_keys k using changed c where k.key = c.key;
      update pending_opt_ins p set touch_id = null from changed c where p.touch_id = c.id;
      return null;
    end $$`.execute(db);

  await sql`
    create function partition_key_fixed() returns trigger language plpgsql as $$
    begin
      raise exception '% cannot change once written: it is the partition key, and moving the row would lose it (row of %)', tg_argv[0], tg_table_name
        using errcode = 'feature_not_supported';
    end $$`.execute(db);

  // A partition for every month that has touches, and for this month and the next few.
  await sql`
    select touches_add_partition(m::date) from (
      select distinct date_trunc('month', created_at at time zone 'UTC') as m from touches_unpartitioned
      union
      select date_trunc('month', now() at time zone 'UTC') + make_interval(months => g) from generate_series(0, ${sql.lit(AHEAD)}) g
    ) months order by m`.execute(db);

  await sql`insert into touch_keys (key) select key from touches_unpartitioned`.execute(db);
  await sql`insert into touches (${sql.raw(COLUMNS)}) select ${sql.raw(COLUMNS)} from touches_unpartitioned`.execute(db);
  await sql`drop table touches_unpartitioned`.execute(db);

  // Built once over the copied rows rather than row by row while copying.
  await createIndexes(db);
  await sql`create trigger touches_claim_key before insert on touches for each row execute function touches_claim_key()`.execute(db);
  await sql`create trigger touches_forget after delete on touches referencing old table as changed for each statement execute function touches_forget()`.execute(db);
  await sql`create trigger touches_created_at_fixed before update of created_at on touches for each row when (old.created_at is distinct from new.created_at) execute function partition_key_fixed('touches.created_at')`.execute(db);
  await sql`create trigger events_received_at_fixed before update of received_at on events for each row when (old.received_at is distinct from new.received_at) execute function partition_key_fixed('events.received_at')`.execute(db);
  await sql`analyze touches`.execute(db);
  await sql`analyze touch_keys`.execute(db);
}

/** Back to one table with `id` as its primary key; every row is kept (dropped partitions stay dropped). */
export async function down(db: Kysely<any>): Promise<void> {
  await sql`create table touches_unpartitioned (
    like touches including defaults including constraints including storage,
    constraint touches_unpartitioned_pkey primary key (id),
    constraint touches_unpartitioned_key_key unique (key)
  )`.execute(db);
  await sql`insert into touches_unpartitioned (${sql.raw(COLUMNS)}) select ${sql.raw(COLUMNS)} from touches`.execute(db);
  await sql`drop trigger events_received_at_fixed on events`.execute(db);
  await sql`drop table touches`.execute(db);
  await sql`drop table touch_keys`.execute(db);
  await sql`drop function partition_key_fixed()`.execute(db);
  await sql`drop function touches_forget()`.execute(db);
  await sql`drop function touches_claim_key()`.execute(db);
  await sql`drop function touches_add_partition(date)`.execute(db);
  await sql`alter table touches_unpartitioned rename to touches`.execute(db);
  await sql`alter table touches rename constraint touches_unpartitioned_pkey to touches_pkey`.execute(db);
  await sql`alter table touches rename constraint touches_unpartitioned_key_key to touches_key_key`.execute(db);
  await sql`alter table touches add constraint touches_contact_id_fkey foreign key (contact_id) references contacts(id) on delete cascade`.execute(db);
  await createIndexes(db);
  // A pending opt-in may name a touch of a month dropped by the retention: the reference goes, as a delete would have set it.
  await sql`update pending_opt_ins p set touch_id = null where touch_id is not null and not exists (select 1 from touches t where t.id = p.touch_id)`.execute(db);
  await sql`alter table pending_opt_ins add constraint pending_opt_ins_touch_id_fkey foreign key (touch_id) references touches(id) on delete set null`.execute(db);
}
