import type { DateTime } from 'luxon';
import type { Kysely } from 'kysely';
import type { ContactRow } from '../db/contact-repository.js';
import { toContact, updateContact, upsertContactForEvent, upsertContactsForEvents } from '../db/contact-repository.js';
import type { EnrollmentRow } from '../db/enrollment-repository.js';
import { endActiveEnrollments, enrollmentsOfContact, enrollmentsOfContacts } from '../db/enrollment-repository.js';
import { insertEvent, insertEvents, recentHistory } from '../db/event-repository.js';
import type { Database } from '../db/schema.js';
import { cancelOpenNurtureTasks, insertTask } from '../db/task-repository.js';
import { cancelPendingEmails, findTouchByRef } from '../db/touch-repository.js';
import type { NurtureEvent } from '../sequences/event.js';
import { touchRefOf } from '../sequences/event.js';
import { isTriggeredBy, promotionReason } from '../sequences/lifecycle.js';
import type { EventFacts } from '../sequences/match.js';
import { addDuration } from '../sequences/time-rules.js';
import type { AfterCommit, ContactScope, EngineDeps } from './commit-advance.js';
import { WriteBuffer, advanceEnrollment, displayName, emptyAfterCommit, enroll } from './commit-advance.js';

export interface ApplyResult {
  status: 'applied' | 'duplicate';
  contactId: string | null;
  enrolled: string[];
  promoted: boolean;
  after: AfterCommit;
}

/**
 * Applies events, several per transaction. The contact rows the upserts lock serialise every
 * event of one contact across all worker processes, and the unique event id makes a redelivered
 * event a no-op. Events of one contact within a batch are applied one after another, in the
 * order they happened; across batches, in the order their transactions take the contact's lock.
 *
 * Most events are opt-ins of contacts seen once in the batch: those take a bulk path (one
 * statement per table for the whole batch). Anything that reads what an earlier event wrote, or
 * ends nurture (unsubscribe, bounce, a lead signal, engagement tied to a touch), takes the
 * one-by-one path in the same transaction.
 */
export async function applyEvents(deps: EngineDeps, events: readonly NurtureEvent[], now: DateTime): Promise<ApplyResult[]> {
  return deps.db.transaction().execute(async (tx) => {
    const results: ApplyResult[] = new Array(events.length);
    const perContact = new Map<string, number>();
    for (const e of events) perContact.set(e.contact.email, (perContact.get(e.contact.email) ?? 0) + 1);
    const bulk: number[] = [];
    const oneByOne: number[] = [];
    events.forEach((e, i) => (perContact.get(e.contact.email) === 1 && isPlain(deps, e) ? bulk : oneByOne).push(i));

    if (bulk.length > 0) await applyBulk(tx, deps, events, bulk, results, now);
    // Within a batch, a contact's events go in the order they happened (arrival order on ties).
    const at = (i: number) => Date.parse(events[i]!.occurredAt);
    oneByOne.sort((x, y) => at(x) - at(y) || x - y);
    for (const i of oneByOne) results[i] = await applyOne(tx, deps, events[i]!, now);
    return results;
  });
}

export async function applyEvent(deps: EngineDeps, event: NurtureEvent, now: DateTime): Promise<ApplyResult> {
  return (await applyEvents(deps, [event], now))[0]!;
}

/** Events whose effect depends only on the contact's stored state, not on contact-wide rules. */
function isPlain(deps: EngineDeps, e: NurtureEvent): boolean {
  return e.type !== 'unsubscribed' && e.type !== 'bounced' && !deps.config.promotion.onEvents.includes(e.type) && touchRefOf(e) === undefined;
}

function duplicate(): ApplyResult {
  return { status: 'duplicate', contactId: null, enrolled: [], promoted: false, after: emptyAfterCommit() };
}

function newScope(row: ContactRow, buffer?: WriteBuffer): ContactScope {
  return { contact: toContact(row), history: undefined, recentEmails: undefined, after: emptyAfterCommit(), started: new Set(), buffer };
}

async function applyBulk(
  tx: Kysely<Database>,
  deps: EngineDeps,
  events: readonly NurtureEvent[],
  indices: number[],
  results: ApplyResult[],
  now: DateTime,
): Promise<void> {
  const batch = indices.map((i) => events[i]!);
  const contacts = await upsertContactsForEvents(tx, batch);
  const fresh = await insertEvents(
    tx,
    batch.map((e) => ({ event: e, contactId: contacts.get(e.contact.email)!.row.id, touchId: null })),
  );
  const known = batch.filter((e) => fresh.has(e.id) && !contacts.get(e.contact.email)!.inserted).map((e) => contacts.get(e.contact.email)!.row.id);
  const enrollments = known.length > 0 ? await enrollmentsOfContacts(tx, known) : new Map<string, EnrollmentRow[]>();
  const buffer = new WriteBuffer();
  for (const i of indices) {
    const e = events[i]!;
    if (!fresh.has(e.id)) {
      results[i] = duplicate();
      continue;
    }
    const { row } = contacts.get(e.contact.email)!;
    const scope = newScope(row, buffer);
    await resubscribeOnOptIn(tx, scope, e);
    const enrolled = await applyToEnrollments(tx, deps, scope, { type: e.type, data: e.data }, enrollments.get(row.id) ?? [], now);
    results[i] = { status: 'applied', contactId: row.id, enrolled, promoted: false, after: scope.after };
  }
  await buffer.flush(tx);
}

async function applyOne(tx: Kysely<Database>, deps: EngineDeps, event: NurtureEvent, now: DateTime): Promise<ApplyResult> {
  const { row, inserted } = await upsertContactForEvent(tx, event);
  const ref = touchRefOf(event);
  const touch = ref ? await findTouchByRef(tx, ref) : undefined;
  const ownTouch = touch && touch.contact_id === row.id ? touch : undefined;
  // A duplicate leaves only the contact upsert behind, which repeats what its first delivery set.
  if (!(await insertEvent(tx, event, row.id, ownTouch?.id ?? null))) return duplicate();

  const scope = newScope(row);
  const at = now.toJSDate();
  let promoted = false;
  await resubscribeOnOptIn(tx, scope, event);

  if (event.type === 'unsubscribed' && !scope.contact.unsubscribedAt) {
    await endAllNurture(tx, scope.contact.id, 'unsubscribed', at);
    await updateContact(tx, scope.contact.id, { unsubscribed_at: at });
    scope.contact.unsubscribedAt = at.toISOString();
  }
  if (event.type === 'bounced' && !scope.contact.bouncedAt) {
    // A bounce stops email, not the rest of the follow-up: postcards and calls still reach people.
    await cancelPendingEmails(tx, scope.contact.id, 'bounced');
    await updateContact(tx, scope.contact.id, { bounced_at: at });
    scope.contact.bouncedAt = at.toISOString();
  }
  const reason = promotionReason(scope.contact, event.type, deps.config.promotion);
  if (reason) {
    await promote(tx, deps, scope, `event:${reason}`, now);
    promoted = true;
  }

  const facts: EventFacts = {
    type: event.type,
    data: event.data,
    ref: ownTouch?.enrollment_id ? { enrollmentId: ownTouch.enrollment_id, stepId: ownTouch.step_id } : undefined,
  };
  const enrollments = inserted ? [] : await enrollmentsOfContact(tx, scope.contact.id);
  const enrolled = await applyToEnrollments(tx, deps, scope, facts, enrollments, now);
  return { status: 'applied', contactId: scope.contact.id, enrolled, promoted, after: scope.after };
}

/** Feeds the event to the contact's active enrollments, then enrolls it where a trigger matches. */
async function applyToEnrollments(
  tx: Kysely<Database>,
  deps: EngineDeps,
  scope: ContactScope,
  facts: EventFacts,
  enrollments: EnrollmentRow[],
  now: DateTime,
): Promise<string[]> {
  for (const e of enrollments) {
    // Held by a pause: the event is recorded (history, conditions) but the enrollment waits.
    if (e.status !== 'active' || e.held_at) continue;
    const r = await advanceEnrollment(tx, deps, scope, e, { kind: 'event', event: facts }, now);
    if (r.outcome !== 'active') e.status = r.outcome;
  }
  const enrolled: string[] = [];
  for (const program of deps.registry.activePrograms()) {
    if (!isTriggeredBy(program.definition, facts)) continue;
    const id = await enroll(tx, deps, scope, program, enrollments, now);
    if (id) enrolled.push(id);
  }
  return enrolled;
}

/**
 * An opt-in after an unsubscribe is fresh consent: the contact is subscribed again. An opt-in
 * that happened before the unsubscribe (delivered late) changes nothing.
 */
async function resubscribeOnOptIn(tx: Kysely<Database>, scope: ContactScope, e: NurtureEvent): Promise<void> {
  const since = scope.contact.unsubscribedAt;
  if (e.type !== 'opt_in' || !since || Date.parse(e.occurredAt) <= Date.parse(since)) return;
  await updateContact(tx, scope.contact.id, { unsubscribed_at: null });
  scope.contact.unsubscribedAt = null;
}

async function endAllNurture(tx: Kysely<Database>, contactId: string, reason: string, at: Date): Promise<void> {
  await endActiveEnrollments(tx, contactId, 'exited', reason, at);
  await cancelPendingEmails(tx, contactId, reason);
  await cancelOpenNurtureTasks(tx, contactId, `cancelled: ${reason}`, at);
}

/**
 * Makes the contact a lead: nurture ends at once (no further nurture touch goes out) and sales
 * gets a high-priority call, due within the configured time (an hour by default).
 */
export async function promote(tx: Kysely<Database>, deps: EngineDeps, scope: ContactScope, reason: string, now: DateTime): Promise<void> {
  const c = scope.contact;
  const at = now.toJSDate();
  await endAllNurture(tx, c.id, 'promoted', at);
  await updateContact(tx, c.id, { status: 'lead', promoted_at: at, promotion_reason: reason });
  c.status = 'lead';
  const zone = c.timezone ?? deps.config.defaultZone;
  const history = await recentHistory(tx, c.id, 10);
  await insertTask(tx, {
    touch_id: null,
    contact_id: c.id,
    enrollment_id: null,
    kind: 'call',
    priority: 'high',
    title: `New lead: call ${displayName(c)}`,
    note: `Became a lead (${reason.replace(/^event:/, '')}). Call now: speed to lead matters.${c.phone ? '' : ' No phone number on file: reply by email.'}`,
    content: null,
    address: (c.address as Record<string, unknown> | null) ?? null,
    phone: c.phone,
    history,
    due_at: addDuration(now, deps.config.leadCallDue, { zone, holidays: new Set() }).toJSDate(),
  });
}
