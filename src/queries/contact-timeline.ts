import type { ContactRow } from '../db/contact-repository.js';
import { findContactByEmail, listContacts, stageChangesOfContact } from '../db/contact-repository.js';
import { enrollmentsOfContact, stateOf } from '../db/enrollment-repository.js';
import { contactEvents } from '../db/event-repository.js';
import { suppressionsOf } from '../db/suppression-repository.js';
import { listTaskQueue } from '../db/task-queue-repository.js';
import { topicOptOutsOf } from '../db/topic-repository.js';
import { touchesOfContact } from '../db/touch-repository.js';
import { NotFoundError } from '../errors.js';
import type { Pending } from '../sequences/advance.js';
import type { EmailStanding, Stage } from '../sequences/stage.js';
import { emailStandingOf } from '../sequences/stage.js';
import { humanDuration, iso } from './durations.js';
import type { ReadDb } from './read-db.js';

/** A contact's whole story for `nurture contacts show` (and the inbox to come): plain data. */

export type DelayReason = Extract<Pending, { kind: 'deferred' }>['reason'];

export interface ContactView {
  id: string;
  email: string;
  name: string | null;
  firstName: string | null;
  lastName: string | null;
  phone: string | null;
  timezone: string | null;
  address: Record<string, unknown> | null;
  tags: string[];
  attributes: Record<string, unknown>;
  score: number;
  /** The stage: `lead` is a sales-qualified lead. */
  status: Stage;
  /** Whether email may reach them: `unsubscribed` and `bounced` sit beside the stage (a lead may be either). */
  emailStanding: EmailStanding;
  optedInAt: string | null;
  promotedAt: string | null;
  promotionReason: string | null;
  /** Opt-in to promotion, for leads that opted in first. */
  timeToLead: { seconds: number; text: string } | null;
  unsubscribedAt: string | null;
  bouncedAt: string | null;
  /** Paused by an operator (`nurture contacts pause`): nothing goes out until resumed. */
  pausedAt: string | null;
  createdAt: string;
}

export interface EnrollmentView {
  id: string;
  sequenceId: string;
  sequenceVersion: string;
  status: string;
  exitReason: string | null;
  stepId: string | null;
  nextWakeAt: string | null;
  enrolledAt: string;
  endedAt: string | null;
  /** The next touch is held back: until when, and why. */
  delay: { until: string; reason: DelayReason } | null;
  /** Held by a pause (of the contact or the sequence) since then; its wake-up waits for the resume. */
  heldAt: string | null;
}

export interface TouchView {
  id: string;
  sequenceId: string | null;
  stepId: string;
  kind: string;
  status: string;
  template: string | null;
  dueAt: string;
  sentAt: string | null;
  subject: string | null;
  messageId: string | null;
  attempts: number;
  inDoubt: boolean;
  error: string | null;
}

export interface ContactReport {
  contact: ContactView;
  enrollments: EnrollmentView[];
  touches: TouchView[];
  tasks: { id: number; kind: string; priority: string; status: string; title: string; dueAt: string; completedAt: string | null; outcome: string | null }[];
  events: { id: string; type: string; occurredAt: string; receivedAt: string; data: Record<string, unknown>; touchId: string | null }[];
  /** Every change of stage or email standing, oldest first, with why and the event that made it. */
  lifecycle: { at: string; kind: string; from: string; to: string; reason: string; eventId: string | null }[];
  /** Why the address gets no email whatever the contact's state (the suppression list, by address): empty when it may be mailed. */
  suppressions: { reason: string; source: string; detail: string | null; at: string }[];
  /** Topics (topics.yaml) the contact left: no email of a sequence with such a `topic:`. */
  topicsLeft: string[];
}

export function contactView(r: ContactRow): ContactView {
  const ttl = r.status === 'lead' && r.opted_in_at && r.promoted_at && r.promoted_at >= r.opted_in_at ? (r.promoted_at.getTime() - r.opted_in_at.getTime()) / 1000 : null;
  return {
    id: r.id,
    email: r.email,
    name: [r.first_name, r.last_name].filter(Boolean).join(' ') || null,
    firstName: r.first_name,
    lastName: r.last_name,
    phone: r.phone,
    timezone: r.timezone,
    address: r.address ?? null,
    tags: r.tags ?? [],
    attributes: r.attributes ?? {},
    score: r.score,
    status: r.status,
    emailStanding: emailStandingOf({ unsubscribedAt: iso(r.unsubscribed_at), bouncedAt: iso(r.bounced_at) }),
    optedInAt: iso(r.opted_in_at),
    promotedAt: iso(r.promoted_at),
    promotionReason: r.promotion_reason,
    timeToLead: ttl === null ? null : { seconds: ttl, text: humanDuration(ttl * 1000) },
    unsubscribedAt: iso(r.unsubscribed_at),
    bouncedAt: iso(r.bounced_at),
    pausedAt: iso(r.paused_at),
    createdAt: r.created_at.toISOString(),
  };
}

export async function requireContact(db: ReadDb, email: string): Promise<ContactRow> {
  const row = await findContactByEmail(db, email);
  if (!row) throw new NotFoundError(`no contact with email ${email.trim()} (emails are matched case-insensitively)`);
  return row;
}

export async function contactTimeline(db: ReadDb, email: string): Promise<ContactReport> {
  const row = await requireContact(db, email);
  const enrollments = (await enrollmentsOfContact(db, row.id)).map((e): EnrollmentView => {
    const pending = e.status === 'active' ? stateOf(e).pending : null;
    return {
      id: e.id,
      sequenceId: e.sequence_id,
      sequenceVersion: e.sequence_version,
      status: e.status,
      exitReason: e.exit_reason,
      stepId: e.step_id,
      nextWakeAt: iso(e.next_wake_at),
      enrolledAt: e.enrolled_at.toISOString(),
      endedAt: iso(e.ended_at),
      delay: pending?.kind === 'deferred' ? { until: new Date(pending.until).toISOString(), reason: pending.reason } : null,
      heldAt: iso(e.held_at),
    };
  });
  // Chronological by due time (touches made in one transaction share their created_at).
  const touchRows = (await touchesOfContact(db, row.id)).sort((x, y) => x.due_at.getTime() - y.due_at.getTime() || x.created_at.getTime() - y.created_at.getTime());
  const touches = touchRows.map((t): TouchView => ({
    id: t.id,
    sequenceId: t.sequence_id,
    stepId: t.step_id,
    kind: t.kind,
    status: t.status,
    template: t.template,
    dueAt: t.due_at.toISOString(),
    sentAt: iso(t.sent_at),
    subject: t.subject,
    messageId: t.message_id,
    attempts: t.attempts,
    inDoubt: t.in_doubt,
    error: t.error,
  }));
  const tasks = (await listTaskQueue(db, { contactId: row.id, status: 'all', limit: 1000, now: new Date() })).map((t) => ({
    id: t.id,
    kind: t.kind,
    priority: t.priority,
    status: t.status,
    title: t.title,
    dueAt: t.due_at.toISOString(),
    completedAt: iso(t.completed_at),
    outcome: t.outcome,
  }));
  const events = (await contactEvents(db, row.id, 20)).map((e) => ({
    id: e.id,
    type: e.type,
    occurredAt: e.occurred_at.toISOString(),
    receivedAt: e.received_at.toISOString(),
    data: e.data,
    touchId: e.touch_id,
  }));
  const lifecycle = (await stageChangesOfContact(db, row.id)).map((c) => ({
    at: c.at.toISOString(),
    kind: c.kind,
    from: c.from_stage,
    to: c.to_stage,
    reason: c.reason,
    eventId: c.event_id,
  }));
  const suppressions = (await suppressionsOf(db, row.email)).map((x) => ({ reason: x.reason, source: x.source, detail: x.detail, at: x.at.toISOString() }));
  const topicsLeft = await topicOptOutsOf(db, row.id);
  return { contact: contactView(row), enrollments, touches, tasks, events, lifecycle, suppressions, topicsLeft };
}

export interface ContactListFilter {
  status?: Stage | undefined;
  limit?: number | undefined;
}

/** Contacts, latest lifecycle change first (promotion, else opt-in, else creation). */
export async function contactList(db: ReadDb, f: ContactListFilter): Promise<ContactView[]> {
  return (await listContacts(db, { status: f.status, limit: f.limit ?? 50 })).map(contactView);
}
