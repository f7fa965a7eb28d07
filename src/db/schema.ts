import type { ColumnType, Generated, JSONColumnType } from 'kysely';

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
  score: Generated<number>;
  status: Generated<'subscriber' | 'lead'>;
  opted_in_at: Timestamp | null;
  promoted_at: Timestamp | null;
  promotion_reason: string | null;
  unsubscribed_at: Timestamp | null;
  bounced_at: Timestamp | null;
  /** Set by `nurture contacts pause`: nothing goes out to the contact until resumed. */
  paused_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
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
}

export type SequenceStatus = 'live' | 'paused' | 'retired';

export interface SequencesTable {
  id: string;
  active_version: string;
  /** live: triggers enroll; paused: in-flight work held; retired: ended for good (see README). */
  status: Generated<SequenceStatus>;
  updated_at: GeneratedTimestamp;
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
  created_at: GeneratedTimestamp;
}

export type TaskKind = 'postcard' | 'letter' | 'call' | 'notice';
export type TaskStatus = 'open' | 'done' | 'cancelled';

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
}

export interface Database {
  contacts: ContactsTable;
  events: EventsTable;
  failed_events: FailedEventsTable;
  sequence_versions: SequenceVersionsTable;
  sequences: SequencesTable;
  enrollments: EnrollmentsTable;
  touches: TouchesTable;
  tasks: TasksTable;
}
