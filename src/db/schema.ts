import type { ColumnType, Generated, JSONColumnType } from 'kysely';
import type { ChangeKind, Stage } from '../sequences/stage.js';

/**
 * Kysely's view of the tables created by src/db/migrations. Timestamps are `timestamptz` and come
 * back as JS Date from both pg and PGlite; JSON columns are `jsonb`.
 */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T extends object | null> = JSONColumnType<T, string, string>;
type GeneratedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface ContactsTable {
  id: Generated<string>; // uuid
  email: string; // lower-cased; the contact key
  first_name: string | null;
  last_name: string | null;
  phone: string | null;
  timezone: string | null;
  address: Json<Record<string, unknown> | null> | null;
  attributes: Json<Record<string, unknown>>;
  tags: Json<string[]>;
  /** Rounded fit + engagement: a cache of src/scoring/score.ts, refreshed on events and by the sweep. */
  score: Generated<number>;
  fit_score: Generated<number>;
  engagement_score: Generated<number>;
  /** When the cached score was computed; null: never (no scoring file, or not touched since). */
  score_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** The stage (src/sequences/stage.ts); named `status` since before stages had more values. */
  status: Generated<Stage>;
  opted_in_at: Timestamp | null;
  promoted_at: Timestamp | null;
  promotion_reason: string | null;
  unsubscribed_at: Timestamp | null;
  bounced_at: Timestamp | null;
  /** Set by `nurture contacts pause`: nothing goes out to the contact until resumed. */
  paused_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** The fixed owner (a staff user's email): once assigned, the same rep. */
  owner: ColumnType<string | null, string | null | undefined, string | null>;
  /** A mail piece came back (`returned`): no more postcards or letters. */
  address_bad_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** A call reached the wrong person (`wrong_number`). */
  phone_bad_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  created_at: GeneratedTimestamp;
  updated_at: GeneratedTimestamp;
}

export interface EventsTable {
  id: string; // the producer's event id: applied once
  contact_id: string;
  type: string;
  occurred_at: Timestamp;
  received_at: GeneratedTimestamp;
  data: Json<Record<string, unknown>>;
  /** For opened/clicked/replied: the touch the event refers to, when it could be resolved. */
  touch_id: string | null;
  seq: Generated<string>; // bigserial: arrival order
  /** sha256 of the canonical body (type, occurredAt as given, contact, data); NULL before 2026-12-01. */
  body_hash: string | null;
  /** The contact as this event gave it (the contacts row moves on); NULL before 2026-12-01. */
  contact: Json<Record<string, unknown> | null> | null;
  /** The producer gave no occurredAt: it is the time the event was received. */
  occurred_at_defaulted: Generated<boolean>;
}

export interface FailedEventsTable {
  id: Generated<number>;
  event_id: string | null;
  job_id: string | null;
  field: string;
  reason: string;
  payload: string; // raw, truncated to a few KiB
  received_at: GeneratedTimestamp;
}

export interface SequenceVersionsTable {
  sequence_id: string;
  version: string; // content hash
  definition: Json<object>; // the validated SequenceDefinition
  source_file: string;
  loaded_at: GeneratedTimestamp;
  /** name → { hash, source } of every template the version names; null for versions published before templates were stored. */
  templates: Json<object> | null;
}

export type SequenceStatus = 'live' | 'paused' | 'retired';

export interface SequencesTable {
  id: string;
  active_version: string;
  /** live: triggers enroll; paused: in-flight work held; retired: ended for good (see README). */
  status: Generated<SequenceStatus>;
  updated_at: GeneratedTimestamp;
}

/** One row (id 1): bumped by a trigger on every write to `sequences`. */
export interface SequencesRevisionTable {
  id: number;
  revision: ColumnType<string, string | number, string | number>; // bigint
}

export type EnrollmentStatus = 'active' | 'completed' | 'exited' | 'converted';

export interface EnrollmentsTable {
  id: Generated<string>; // uuid
  contact_id: string;
  sequence_id: string;
  sequence_version: string;
  status: EnrollmentStatus;
  exit_reason: string | null;
  state: Json<object>; // EnrollmentState
  /** Current step id, for listings and live-edit reports. */
  step_id: string | null;
  next_wake_at: Timestamp | null;
  /** Bumped on every state change; wake-up jobs carry it so a stale job is a no-op. */
  wake_version: Generated<number>;
  /** Failed tries of the current wake-up (reset when the state moves on or on retry). */
  failures: Generated<number>;
  last_error: string | null;
  /** Set once `failures` reached the limit: the sweeper no longer offers it (nurture enrollments stuck). */
  quarantined_at: Timestamp | null;
  enrolled_at: Timestamp;
  ended_at: Timestamp | null;
  updated_at: GeneratedTimestamp;
  /** Held by a pause (of its sequence or its contact): its wake-up waits in held_wake_at. */
  held_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  held_wake_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

/** `held`: an email of an enrollment held by a pause; back to pending on resume. */
export type TouchStatus = 'pending' | 'sending' | 'sent' | 'done' | 'failed' | 'cancelled' | 'held';

export interface TouchesTable {
  id: Generated<string>; // uuid
  /** `${enrollment id}/${touch key}`: a step can never run twice. */
  key: string;
  enrollment_id: string | null;
  contact_id: string;
  sequence_id: string | null;
  step_id: string;
  kind: 'email' | 'postcard' | 'letter' | 'call' | 'notify';
  template: string | null;
  status: TouchStatus;
  attempts: Generated<number>;
  /** A send was cut off after it may have reached the SMTP server; retried with the same Message-ID. */
  in_doubt: Generated<boolean>;
  message_id: string | null;
  subject: string | null;
  error: string | null;
  due_at: Timestamp;
  sent_at: Timestamp | null;
  /** When an email gave up (status `failed`). */
  failed_at: Timestamp | null;
  created_at: GeneratedTimestamp;
  /** When a tracked link of the email was last followed (scanner bursts are told by it). */
  last_clicked_at: Generated<Timestamp | null>;
}

export type TaskKind = 'postcard' | 'letter' | 'call' | 'notice';
export type TaskStatus = 'open' | 'done' | 'cancelled' | 'skipped';

export interface TasksTable {
  id: Generated<number>; // small, for staff to type
  touch_id: string | null;
  contact_id: string;
  enrollment_id: string | null;
  kind: TaskKind;
  priority: 'normal' | 'high';
  status: TaskStatus;
  title: string;
  note: string | null;
  /** Rendered piece for postcards and letters: { subject, html, text }. */
  content: Json<Record<string, unknown> | null> | null;
  address: Json<Record<string, unknown> | null> | null;
  phone: string | null;
  /** Recent events of the contact when the task was made, for the caller. */
  history: Json<unknown[]>;
  due_at: Timestamp;
  created_at: GeneratedTimestamp;
  completed_at: Timestamp | null;
  outcome: string | null;
  /** A staff user's email (the team directory); null: unassigned or in `team`'s queue. */
  assignee: ColumnType<string | null, string | null | undefined, string | null>;
  team: ColumnType<string | null, string | null | undefined, string | null>;
  /** Why it went where it did, e.g. "round-robin in team sales, 3 of 4 available, Bob at capacity". */
  assignment_reason: ColumnType<string | null, string | null | undefined, string | null>;
  /** Null: no assignment decision yet (the staff sweep makes one). */
  assigned_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  claimed_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  snoozed_until: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** The speed-to-lead deadline; null: no SLA. */
  sla_due_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  breached_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  first_attempt_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  first_connected_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export type TaskAction =
  | 'assigned'
  | 'queued'
  | 'claimed'
  | 'snoozed'
  | 'reassigned'
  | 'skipped'
  | 'completed'
  | 'reminded'
  | 'escalated'
  | 'breached'
  | 'manager_notified';

/** What happened to a task, with who (a staff email, `system`, `cli`) and why. */
export interface TaskActivityTable {
  id: Generated<string>; // bigserial
  task_id: number;
  at: GeneratedTimestamp;
  actor: string;
  action: TaskAction;
  reason: string | null;
  detail: Json<Record<string, unknown>>;
}

export type TimerAction = 'remind' | 'reassign' | 'notify_manager' | 'breach';

/** Durable SLA escalation steps, swept like waits. */
export interface TaskTimersTable {
  id: Generated<string>; // bigserial
  task_id: number;
  step: number;
  action: TimerAction;
  due_at: Timestamp;
  status: ColumnType<'pending' | 'fired' | 'cancelled', 'pending' | 'fired' | 'cancelled' | undefined, 'pending' | 'fired' | 'cancelled'>;
  fired_at: Timestamp | null;
  detail: Json<Record<string, unknown>>;
}

export interface TeamCursorsTable {
  team: string;
  last_assignee: string;
  at: GeneratedTimestamp;
}

export interface StaffAccountsTable {
  email: string; // lower-cased
  password_hash: string; // argon2id
  created_at: GeneratedTimestamp;
  updated_at: GeneratedTimestamp;
  disabled_at: Timestamp | null;
}

export interface StaffSessionsTable {
  /** sha256 (hex) of the session cookie's token. */
  token_hash: string;
  email: string;
  csrf_token: string;
  created_at: GeneratedTimestamp;
  last_seen_at: GeneratedTimestamp;
  expires_at: Timestamp;
}

export interface MailRunsTable {
  id: string;
  kind: 'postcard' | 'letter';
  /** The local date (YYYY-MM-DD) whose pieces it holds. */
  due_date: string;
  task_ids: Json<number[]>;
  /** Paths of the files written: { csv, pdf }. */
  files: Json<Record<string, string>>;
  created_at: GeneratedTimestamp;
  created_by: string;
  confirmed_at: Timestamp | null;
  confirmed_by: string | null;
}

export interface StaffDigestsTable {
  email: string;
  local_date: string;
  sent_at: GeneratedTimestamp;
  tasks: number;
}

/** Every lifecycle transition of a contact, written in the transaction that made it. */
export interface StageChangesTable {
  id: Generated<string>; // bigserial
  contact_id: string;
  kind: ChangeKind;
  from_stage: Stage;
  to_stage: Stage;
  reason: string;
  /** The event that caused it; null for backfilled rows whose event was not found, and for score changes by decay or a rebuild. */
  event_id: string | null;
  at: Timestamp;
}

export interface ServiceHealthTable {
  /** The service, e.g. `mail`. */
  name: string;
  state: 'up' | 'down';
  /** What was seen: the destination, and the error when down. */
  detail: string;
  /** When the current state began. */
  since: Timestamp;
  /** When it was last confirmed. */
  checked_at: Timestamp;
}

export type SuppressionReason = 'unsubscribed' | 'hard_bounce' | 'complaint' | 'erased' | 'manual';

export interface SuppressionsTable {
  /** sha256 hex of the lower-cased address. */
  address_hash: string;
  reason: SuppressionReason;
  /** Null once the contact was erased. */
  email: string | null;
  source: string;
  detail: string | null;
  created_at: GeneratedTimestamp;
}

export type ConsentKind = 'opt_in' | 'confirmation_sent' | 'confirmed' | 'expired' | 'unsubscribed' | 'resubscribed' | 'topics_changed' | 'erased';

export interface ConsentRecordsTable {
  id: Generated<string>; // bigserial
  contact_id: string | null;
  address_hash: string;
  kind: ConsentKind;
  at: Timestamp;
  source: string;
  form_id: string | null;
  form_version: string | null;
  ip: string | null;
  user_agent: string | null;
  wording: string | null;
  wording_hash: string | null;
  event_id: string | null;
  detail: ColumnType<Record<string, unknown>, string | undefined, string>;
}

export interface TopicOptOutsTable {
  contact_id: string;
  /** A topic of topics.yaml. */
  topic: string;
  source: string;
  at: GeneratedTimestamp;
}

export type PendingOptInStatus = 'pending' | 'confirmed' | 'expired';

/** A double opt-in waiting for its confirmation click (src/app/confirm-opt-in.ts). */
export interface PendingOptInsTable {
  id: Generated<string>; // uuid
  contact_id: string;
  form_id: string;
  form_version: string;
  /** The contact as the form gave it (the event `contact` shape). */
  contact: Json<Record<string, unknown>>;
  /** The opt_in event's data (source, form, version). */
  data: Json<Record<string, unknown>>;
  ip: string | null;
  user_agent: string | null;
  wording: string;
  wording_hash: string;
  status: Generated<PendingOptInStatus>;
  touch_id: string | null;
  created_at: Timestamp;
  expires_at: Timestamp;
  confirmed_at: Timestamp | null;
  expired_at: Timestamp | null;
}

/** The key of every touch stored (migration 2026-12-04T090000): a step's key is claimed here once, so it never runs twice, across the monthly partitions of `touches`. */
export interface TouchKeysTable {
  key: string;
}

/**
 * Every applied event id (the dedupe key of `events`, which is partitioned by month and so can
 * keep no unique key on id alone); written by the trigger on `events`, kept when a partition is
 * dropped (migration 2026-12-03T140000).
 */
export interface EventIdsTable {
  id: string;
  received_at: Timestamp;
}

/** Events received over HTTP, committed before the answer, until they are applied or rejected. */
export interface EventIntakeTable {
  id: string;
  payload: ColumnType<Record<string, unknown>, string, string>;
  source: string;
  received_at: ColumnType<Date, Date | string | undefined, Date | string>;
  offered_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

/** Signed webhooks seen (their `webhook-id`): a replay is answered but applies nothing. */
export interface WebhookReceiptsTable {
  id: string;
  events: number;
  received_at: GeneratedTimestamp;
}

/**
 * Rollup of each opted-in contact for the reports (migration 2026-12-02T160500-report-rollups):
 * triggers name the contacts whose row is to change, report_catch_up recomputes them (migration
 * 2026-12-04T120000); never written by the application otherwise.
 */
export interface ReportContactsTable {
  contact_id: string;
  opted_in_at: Timestamp;
  /** The first opt-in's `data.source`, `(none)` when it had none. */
  source: string;
  /** Furthest funnel stage reached after the first opt-in: 0 subscriber, 1 engaged, 2 mql, 3 lead, 4 customer. */
  reached: number;
  lead_at: Timestamp | null;
  conversation_at: Timestamp | null;
  sequences: string[];
}

/** Contacts whose report_contacts row is to be recomputed (migration 2026-12-04T120000): named by triggers, taken by report_catch_up. */
export interface ReportPendingTable {
  /** bigserial: the order names were given in. */
  seq: Generated<string>;
  contact_id: string;
}

/** First open and first click of a touch, kept by a trigger on events. */
export interface ReportTouchEngagementTable {
  touch_id: string;
  opened_at: Timestamp | null;
  clicked_at: Timestamp | null;
}

export interface Database {
  contacts: ContactsTable;
  events: EventsTable;
  failed_events: FailedEventsTable;
  sequence_versions: SequenceVersionsTable;
  sequences: SequencesTable;
  sequences_revision: SequencesRevisionTable;
  enrollments: EnrollmentsTable;
  touches: TouchesTable;
  tasks: TasksTable;
  stage_changes: StageChangesTable;
  service_health: ServiceHealthTable;
  suppressions: SuppressionsTable;
  consent_records: ConsentRecordsTable;
  topic_opt_outs: TopicOptOutsTable;
  pending_opt_ins: PendingOptInsTable;
  event_intake: EventIntakeTable;
  webhook_receipts: WebhookReceiptsTable;
  event_ids: EventIdsTable;
  touch_keys: TouchKeysTable;
  report_contacts: ReportContactsTable;
  report_pending: ReportPendingTable;
  report_touch_engagement: ReportTouchEngagementTable;
  task_activity: TaskActivityTable;
  task_timers: TaskTimersTable;
  team_cursors: TeamCursorsTable;
  staff_accounts: StaffAccountsTable;
  staff_sessions: StaffSessionsTable;
  mail_runs: MailRunsTable;
  staff_digests: StaffDigestsTable;
}
