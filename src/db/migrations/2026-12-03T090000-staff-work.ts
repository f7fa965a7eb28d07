import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * Staff work (issue 8): who a task is assigned to and why, what staff did with it, the durable
 * SLA escalation timers, the fixed owner of a contact, bad addresses and phones, staff accounts
 * and browser sessions, mail runs and daily digests. Frozen like every migration: imports nothing
 * from the app.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table tasks drop constraint tasks_status_check`.execute(db);
  await sql`alter table tasks add constraint tasks_status_check check (status in ('open', 'done', 'cancelled', 'skipped'))`.execute(db);
  await db.schema
    .alterTable('tasks')
    // A staff user's email (team.yaml), or null: unassigned, or waiting in `team`'s queue to be claimed.
    .addColumn('assignee', 'text')
    .addColumn('team', 'text')
    // Why: "round-robin in team sales, 3 of 4 available, Bob at capacity".
    .addColumn('assignment_reason', 'text')
    // Null: no assignment decision was made yet (the staff sweep picks these up).
    .addColumn('assigned_at', 'timestamptz')
    .addColumn('claimed_at', 'timestamptz')
    .addColumn('snoozed_until', 'timestamptz')
    // The speed-to-lead deadline; null: the task has no SLA.
    .addColumn('sla_due_at', 'timestamptz')
    .addColumn('breached_at', 'timestamptz')
    .addColumn('first_attempt_at', 'timestamptz')
    .addColumn('first_connected_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('tasks_unassigned_idx').on('tasks').column('id').where(sql.ref('assigned_at'), 'is', null).execute();
  await db.schema.createIndex('tasks_assignee_status_idx').on('tasks').columns(['assignee', 'status', 'due_at']).execute();
  await db.schema.createIndex('tasks_team_status_idx').on('tasks').columns(['team', 'status', 'due_at']).execute();

  // Everything that happened to a task, with who and why: assigned, claimed, snoozed, reassigned,
  // skipped, completed, reminded, escalated, breached, manager_notified.
  await db.schema
    .createTable('task_activity')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('task_id', 'integer', (c) => c.notNull().references('tasks.id').onDelete('cascade'))
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // A staff user's email, `system` (the engine), or `cli`.
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('detail', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
  await db.schema.createIndex('task_activity_task_idx').on('task_activity').columns(['task_id', 'id']).execute();

  // Escalation steps of a task's SLA, durable like waits: swept, never held in a process.
  await db.schema
    .createTable('task_timers')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('task_id', 'integer', (c) => c.notNull().references('tasks.id').onDelete('cascade'))
    .addColumn('step', 'integer', (c) => c.notNull())
    // remind | reassign | notify_manager | breach
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('due_at', 'timestamptz', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('fired_at', 'timestamptz')
    .addColumn('detail', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addUniqueConstraint('task_timers_task_step_key', ['task_id', 'step'])
    .addCheckConstraint('task_timers_status_check', sql`status in ('pending', 'fired', 'cancelled')`)
    .execute();
  await db.schema.createIndex('task_timers_due_idx').on('task_timers').columns(['due_at', 'id']).where(sql.ref('status'), '=', 'pending').execute();

  await db.schema
    .alterTable('contacts')
    // The fixed owner (a staff user's email): once assigned, the same rep.
    .addColumn('owner', 'text')
    // A mail piece came back (`returned`): no more postcards or letters to this address.
    .addColumn('address_bad_at', 'timestamptz')
    // A call reached the wrong person (`wrong_number`).
    .addColumn('phone_bad_at', 'timestamptz')
    .execute();

  // Where round-robin left off, per team.
  await db.schema
    .createTable('team_cursors')
    .addColumn('team', 'text', (c) => c.primaryKey())
    .addColumn('last_assignee', 'text', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // Login accounts of staff users (the directory says who they are; this holds the password).
  await db.schema
    .createTable('staff_accounts')
    .addColumn('email', 'text', (c) => c.primaryKey())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('disabled_at', 'timestamptz')
    .execute();
  await db.schema
    .createTable('staff_sessions')
    // sha256 of the cookie's token: a stolen table opens no session.
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('email', 'text', (c) => c.notNull().references('staff_accounts.email').onDelete('cascade'))
    .addColumn('csrf_token', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('staff_sessions_email_idx').on('staff_sessions').column('email').execute();

  // A mail run: the day's postcards or letters exported for a print vendor, sent when confirmed.
  await db.schema
    .createTable('mail_runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('due_date', 'text', (c) => c.notNull())
    .addColumn('task_ids', 'jsonb', (c) => c.notNull())
    .addColumn('files', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('confirmed_at', 'timestamptz')
    .addColumn('confirmed_by', 'text')
    .execute();

  // One digest per user per local day, whichever process sends it.
  await db.schema
    .createTable('staff_digests')
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('local_date', 'text', (c) => c.notNull())
    .addColumn('sent_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('tasks', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('staff_digests_pkey', ['email', 'local_date'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['staff_digests', 'mail_runs', 'staff_sessions', 'staff_accounts', 'team_cursors', 'task_timers', 'task_activity']) {
    await db.schema.dropTable(t).execute();
  }
  await db.schema.alterTable('contacts').dropColumn('owner').dropColumn('address_bad_at').dropColumn('phone_bad_at').execute();
  await db.schema.dropIndex('tasks_unassigned_idx').execute();
  await db.schema.dropIndex('tasks_assignee_status_idx').execute();
  await db.schema.dropIndex('tasks_team_status_idx').execute();
  for (const c of ['assignee', 'team', 'assignment_reason', 'assigned_at', 'claimed_at', 'snoozed_until', 'sla_due_at', 'breached_at', 'first_attempt_at', 'first_connected_at']) {
    await db.schema.alterTable('tasks').dropColumn(c).execute();
  }
  // Skipped tasks become cancelled ones: the older schema has no such status.
  await sql`update tasks set status = 'cancelled' where status = 'skipped'`.execute(db);
  await sql`alter table tasks drop constraint tasks_status_check`.execute(db);
  await sql`alter table tasks add constraint tasks_status_check check (status in ('open', 'done', 'cancelled'))`.execute(db);
}
