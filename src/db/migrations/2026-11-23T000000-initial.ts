import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * The initial schema. Frozen: never edit this file once released, add a new migration instead.
 * Mirrors src/db/schema.ts as it was on 2026-11-23 (uuid keys, timestamptz, jsonb), but imports
 * nothing from the application so it keeps meaning the same thing as the code moves on.
 */

const jsonObject = sql`'{}'::jsonb`;
const jsonArray = sql`'[]'::jsonb`;

function inList(values: readonly string[]) {
  return sql.join(values.map((v) => sql.lit(v)));
}

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('contacts')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('first_name', 'text')
    .addColumn('last_name', 'text')
    .addColumn('phone', 'text')
    .addColumn('timezone', 'text')
    .addColumn('address', 'jsonb')
    .addColumn('attributes', 'jsonb', (c) => c.notNull().defaultTo(jsonObject))
    .addColumn('tags', 'jsonb', (c) => c.notNull().defaultTo(jsonArray))
    .addColumn('score', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('subscriber'))
    .addColumn('opted_in_at', 'timestamptz')
    .addColumn('promoted_at', 'timestamptz')
    .addColumn('promotion_reason', 'text')
    .addColumn('unsubscribed_at', 'timestamptz')
    .addColumn('bounced_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('contacts_email_key', ['email'])
    .addCheckConstraint('contacts_status_check', sql`status in (${inList(['subscriber', 'lead'])})`)
    .execute();

  await db.schema
    .createTable('events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('contact_id', 'uuid', (c) => c.notNull().references('contacts.id').onDelete('cascade'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('data', 'jsonb', (c) => c.notNull().defaultTo(jsonObject))
    .addColumn('touch_id', 'uuid')
    .addColumn('seq', 'bigserial', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('events_contact_id_seq_idx').on('events').columns(['contact_id', 'seq']).execute();

  await db.schema
    .createTable('failed_events')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('event_id', 'text')
    .addColumn('job_id', 'text')
    .addColumn('field', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('sequence_versions')
    .addColumn('sequence_id', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('definition', 'jsonb', (c) => c.notNull())
    .addColumn('source_file', 'text', (c) => c.notNull())
    .addColumn('loaded_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('sequence_versions_pkey', ['sequence_id', 'version'])
    .execute();

  await db.schema
    .createTable('sequences')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('active_version', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('enrollments')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('contact_id', 'uuid', (c) => c.notNull().references('contacts.id').onDelete('cascade'))
    .addColumn('sequence_id', 'text', (c) => c.notNull())
    .addColumn('sequence_version', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
    .addColumn('exit_reason', 'text')
    .addColumn('state', 'jsonb', (c) => c.notNull().defaultTo(jsonObject))
    .addColumn('step_id', 'text')
    .addColumn('next_wake_at', 'timestamptz')
    .addColumn('wake_version', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('enrolled_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('ended_at', 'timestamptz')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint(
      'enrollments_status_check',
      sql`status in (${inList(['active', 'completed', 'exited', 'converted'])})`,
    )
    .execute();
  await db.schema
    .createIndex('enrollments_wake_idx')
    .on('enrollments')
    .column('next_wake_at')
    .where(sql.ref('status'), '=', 'active')
    .execute();
  await db.schema
    .createIndex('enrollments_contact_id_status_idx')
    .on('enrollments')
    .columns(['contact_id', 'status'])
    .execute();
  await db.schema
    .createIndex('enrollments_sequence_id_status_step_id_idx')
    .on('enrollments')
    .columns(['sequence_id', 'status', 'step_id'])
    .execute();

  await db.schema
    .createTable('touches')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('enrollment_id', 'uuid')
    .addColumn('contact_id', 'uuid', (c) => c.notNull().references('contacts.id').onDelete('cascade'))
    .addColumn('sequence_id', 'text')
    .addColumn('step_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('template', 'text')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('in_doubt', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('message_id', 'text')
    .addColumn('subject', 'text')
    .addColumn('error', 'text')
    .addColumn('due_at', 'timestamptz', (c) => c.notNull())
    .addColumn('sent_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('touches_key_key', ['key'])
    .addCheckConstraint(
      'touches_kind_check',
      sql`kind in (${inList(['email', 'postcard', 'letter', 'call', 'notify'])})`,
    )
    .addCheckConstraint(
      'touches_status_check',
      sql`status in (${inList(['pending', 'sending', 'sent', 'done', 'failed', 'cancelled'])})`,
    )
    .execute();
  await db.schema
    .createIndex('touches_outbox_idx')
    .on('touches')
    .columns(['status', 'created_at'])
    .where(sql<boolean>`status in (${inList(['pending', 'sending'])})`)
    .execute();
  await db.schema
    .createIndex('touches_contact_id_kind_created_at_idx')
    .on('touches')
    .columns(['contact_id', 'kind', 'created_at'])
    .execute();
  await db.schema.createIndex('touches_enrollment_id_idx').on('touches').column('enrollment_id').execute();

  await db.schema
    .createTable('tasks')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('touch_id', 'uuid')
    .addColumn('contact_id', 'uuid', (c) => c.notNull().references('contacts.id').onDelete('cascade'))
    .addColumn('enrollment_id', 'uuid')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('priority', 'text', (c) => c.notNull().defaultTo('normal'))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('open'))
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('note', 'text')
    .addColumn('content', 'jsonb')
    .addColumn('address', 'jsonb')
    .addColumn('phone', 'text')
    .addColumn('history', 'jsonb', (c) => c.notNull().defaultTo(jsonArray))
    .addColumn('due_at', 'timestamptz', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('completed_at', 'timestamptz')
    .addColumn('outcome', 'text')
    .addUniqueConstraint('tasks_touch_id_key', ['touch_id'])
    .addCheckConstraint('tasks_kind_check', sql`kind in (${inList(['postcard', 'letter', 'call'])})`)
    .addCheckConstraint('tasks_priority_check', sql`priority in (${inList(['normal', 'high'])})`)
    .addCheckConstraint('tasks_status_check', sql`status in (${inList(['open', 'done', 'cancelled'])})`)
    .execute();
  await db.schema
    .createIndex('tasks_status_kind_due_at_idx')
    .on('tasks')
    .columns(['status', 'kind', 'due_at'])
    .execute();
  await db.schema.createIndex('tasks_contact_id_idx').on('tasks').column('contact_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'tasks',
    'touches',
    'enrollments',
    'sequences',
    'sequence_versions',
    'failed_events',
    'events',
    'contacts',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
