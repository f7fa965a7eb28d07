import type { DateTime } from 'luxon';
import { newContactFields } from '../sequences/contact.js';
import type { Kysely } from 'kysely';
import type { ContactRow } from '../db/contact-repository.js';
import type { ContactPatch, ScoreIfNew } from '../db/contact-repository.js';
import { insertStageChanges, toContact, updateContact, upsertContactForEvent, upsertContactsForEvents } from '../db/contact-repository.js';
import type { EnrollmentRow } from '../db/enrollment-repository.js';
import { endActiveEnrollments, enrollmentsOfContact, enrollmentsOfContacts } from '../db/enrollment-repository.js';
import { insertEvent, insertEvents, recentHistory, storedEventBodies } from '../db/event-repository.js';
import type { Database } from '../db/schema.js';
import type { ConsentChange } from '../db/consent-repository.js';
import { recordConsents } from '../db/consent-repository.js';
import { EventRaceError } from '../errors.js';
import { liftSuppression, suppress } from '../db/suppression-repository.js';
import { cancelOpenNurtureTasks, insertTask } from '../db/task-repository.js';
import { cancelPendingEmails, findTouchByRef } from '../db/touch-repository.js';
import type { EventBody, IncomingEvent, NurtureEvent } from '../sequences/event.js';
import { eventBody, eventDifferences, eventHashOf, touchRefOf } from '../sequences/event.js';
import type { Contact } from '../sequences/contact.js';
import { assertNever } from '../sequences/compile.js';
import { isTriggeredBy } from '../sequences/lifecycle.js';
import type { EventFacts } from '../sequences/match.js';
import { decideLifecycle } from '../sequences/stage.js';
import { addDuration } from '../sequences/time-rules.js';
import type { AfterCommit, ContactScope, EngineDeps } from './engine-deps.js';
import { WriteBuffer } from './write-buffer.js';
import { cachedScoreOf, scoredEventsOf } from '../db/score-repository.js';
import { scoredEventTypes } from '../scoring/score.js';
import type { ScoredEvent } from '../scoring/score.js';
import type { StageMove } from './refresh-score.js';
import { refreshScores, scoreNow, stageChangedFacts } from './refresh-score.js';
import type { ScoringRules } from '../scoring/rules.js';
import { resolveSubjects } from './resolve-subjects.js';
import { advanceEnrollment, enroll } from './advance-enrollment.js';
import { displayName } from './touch-rows.js';
import { emptyAfterCommit } from './engine-deps.js';

export interface ApplyResult {
  /**
   * conflict: the id was applied before with another body; nothing of this delivery was applied.
   * rejected: its subject (a contact id, a touch) names nothing; nothing was applied.
   */
  status: 'applied' | 'duplicate' | 'conflict' | 'rejected';
  contactId: string | null;
  enrolled: string[];
  promoted: boolean;
  after: AfterCommit;
  /** For a conflict: the fields that differ, and each difference in words. */
  conflict?: { fields: string[]; differences: string[] };
  /** For a rejection: the field and the reason, for failed_events. */
  rejection?: { field: string; reason: string };
}

/**
 * Applies events, several per transaction. The contact rows the upserts lock serialise every
 * event of one contact across all worker processes. An event id seen before is settled first,
 * before anything is written: the same body again is a no-op duplicate, another body a conflict
 * (nothing applied; the caller records it). Events of one contact within a batch are applied one
 * after another, in the order they happened; across batches, in the order their transactions
 * take the contact's lock.
 *
 * Most events are opt-ins of contacts seen once in the batch: those take a bulk path (one
 * statement per table for the whole batch). Anything that reads what an earlier event wrote, or
 * ends nurture (unsubscribe, bounce, a lead signal, engagement tied to a touch), takes the
 * one-by-one path in the same transaction.
 */
export async function applyEvents(deps: EngineDeps, incoming: readonly IncomingEvent[], now: DateTime): Promise<ApplyResult[]> {
  return deps.db.transaction().execute((tx) => applyEventsIn(tx, deps, incoming, now));
}

/** applyEvents inside a transaction the caller holds: a use case that commits its own rows with the events (an unsubscribe's suppression). */
export async function applyEventsIn(tx: Kysely<Database>, deps: EngineDeps, incoming: readonly IncomingEvent[], now: DateTime): Promise<ApplyResult[]> {
  // The live set as this transaction sees it: never "no sequence matches" from a stale view.
  await deps.registry.sync(tx);
  const results: ApplyResult[] = new Array(incoming.length);
  const settled = await settleRedeliveries(tx, incoming, results);
  // Events that name their contact by id or by touch get its email here; an unknown one is rejected.
  const resolutions = await resolveSubjects(tx, incoming, settled);
  const events: NurtureEvent[] = new Array(incoming.length);
  const todo: number[] = [];
  for (const i of settled) {
    const r = resolutions.get(i)!;
    if (r.ok) {
      events[i] = r.event;
      todo.push(i);
    } else {
      results[i] = { ...duplicate(), status: 'rejected', rejection: { field: r.field, reason: r.reason } };
    }
  }
  const perContact = new Map<string, number>();
  for (const i of todo) perContact.set(events[i]!.contact.email, (perContact.get(events[i]!.contact.email) ?? 0) + 1);
  const bulk: number[] = [];
  const oneByOne: number[] = [];
  for (const i of todo) (perContact.get(events[i]!.contact.email) === 1 && isPlain(deps, events[i]!) ? bulk : oneByOne).push(i);

  if (bulk.length > 0) await applyBulk(tx, deps, events, bulk, results, now);
  // Within a batch, a contact's events go in the order they happened (arrival order on ties).
  const at = (i: number) => Date.parse(events[i]!.occurredAt);
  oneByOne.sort((x, y) => at(x) - at(y) || x - y);
  for (const i of oneByOne) results[i] = await applyOne(tx, deps, events[i]!, now);
  await recordOptIns(tx, events, results);
  return results;
}

/**
 * One event; `alongside`: more writes that must commit with it, or not at all (a hard bounce's
 * suppression and failed touch). An event named by email has nothing to resolve, so it is never
 * rejected here.
 */
export async function applyEvent(
  deps: EngineDeps,
  event: NurtureEvent,
  now: DateTime,
  alongside?: (tx: Kysely<Database>) => Promise<void>,
): Promise<ApplyResult & { status: Exclude<ApplyResult['status'], 'rejected'> }>;
export async function applyEvent(deps: EngineDeps, event: IncomingEvent, now: DateTime, alongside?: (tx: Kysely<Database>) => Promise<void>): Promise<ApplyResult>;
export async function applyEvent(deps: EngineDeps, event: IncomingEvent, now: DateTime, alongside?: (tx: Kysely<Database>) => Promise<void>): Promise<ApplyResult> {
  return deps.db.transaction().execute(async (tx) => {
    const [result] = await applyEventsIn(tx, deps, [event], now);
    if (alongside) await alongside(tx);
    return result!;
  });
}

/**
 * Every opt-in applied is a consent given, recorded in the same transaction. One recorded at the
 * edge for the same event (a form's, with its wording and IP) was written first and is kept.
 */
async function recordOptIns(tx: Kysely<Database>, events: readonly (NurtureEvent | undefined)[], results: readonly ApplyResult[]): Promise<void> {
  const changes: ConsentChange[] = [];
  events.forEach((e, i) => {
    const r = results[i];
    if (!e || e.type !== 'opt_in' || r?.status !== 'applied') return;
    const dataSource = typeof e.data['source'] === 'string' ? e.data['source'] : undefined;
    changes.push({
      email: e.contact.email,
      contactId: r.contactId,
      kind: 'opt_in',
      at: new Date(e.occurredAt),
      source: e.id.startsWith('import-') ? 'import' : 'queue',
      eventId: e.id,
      detail: dataSource === undefined ? {} : { dataSource },
    });
  });
  await recordConsents(tx, changes);
}

/** Events whose effect depends only on the contact's stored state, not on contact-wide rules. */
function isPlain(deps: EngineDeps, e: NurtureEvent): boolean {
  return e.type !== 'unsubscribed' && e.type !== 'bounced' && e.type !== 'stage_set' && !deps.config.promotion.onEvents.includes(e.type) && touchRefOf(e) === undefined;
}

function duplicate(): ApplyResult {
  return { status: 'duplicate', contactId: null, enrolled: [], promoted: false, after: emptyAfterCommit() };
}

/**
 * Sorts out, before anything is written, the events whose id was seen before (stored, or earlier
 * in this batch): the same body again is a duplicate, another body a conflict; neither touches
 * the contact. Returns the indices of the events still to apply.
 */
async function settleRedeliveries(tx: Kysely<Database>, events: readonly IncomingEvent[], results: ApplyResult[]): Promise<number[]> {
  const stored = await storedEventBodies(tx, [...new Set(events.map((e) => e.id))]);
  const inBatch = new Map<string, { hash: string | null; body: EventBody }>();
  const todo: number[] = [];
  events.forEach((e, i) => {
    const body = eventBody(e);
    const hash = eventHashOf(e);
    const before = stored.get(e.id) ?? inBatch.get(e.id);
    if (!before) {
      inBatch.set(e.id, { hash, body });
      todo.push(i);
    } else if (before.hash === null || before.hash === hash) {
      results[i] = duplicate();
    } else {
      const d = eventDifferences(before.body, body);
      results[i] = { ...duplicate(), status: 'conflict', conflict: { fields: d.fields, differences: d.text } };
    }
  });
  return todo;
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
  const contacts = await upsertContactsForEvents(tx, batch, deps.scoring ? newContactScore(deps.scoring, now) : undefined);
  const fresh = await insertEvents(
    tx,
    batch.map((e) => ({ event: e, contactId: contacts.get(e.contact.email)!.row.id, touchId: null })),
  );
  const raced = batch.find((e) => !fresh.has(e.id));
  if (raced) throw new EventRaceError(raced.id);
  const known = batch.filter((e) => fresh.has(e.id) && !contacts.get(e.contact.email)!.inserted).map((e) => contacts.get(e.contact.email)!.row.id);
  const enrollments = known.length > 0 ? await enrollmentsOfContacts(tx, known) : new Map<string, EnrollmentRow[]>();
  const buffer = new WriteBuffer();
  const scopes = new Map<number, { scope: ContactScope; row: ContactRow; promoted: boolean; moves: StageMove[] }>();
  for (const i of indices) {
    const e = events[i]!;
    const { row } = contacts.get(e.contact.email)!;
    const scope = newScope(row, buffer);
    const { promoted, moves } = await applyLifecycle(tx, deps, scope, e, now);
    scopes.set(i, { scope, row, promoted, moves });
  }
  if (deps.scoring) {
    // One read for the known contacts' scored history, one write for the caches that changed.
    const types = scoredEventTypes(deps.scoring);
    const histories = await scoredEventsOf(tx, known, types);
    const targets = indices.map((i) => {
      const { scope, row } = scopes.get(i)!;
      const e = events[i]!;
      const history = contacts.get(e.contact.email)!.inserted ? (types.includes(e.type) ? [scoredEventOf(e)] : []) : (histories.get(row.id) ?? []);
      return { scope, cached: cachedScoreOf(row), history, eventId: e.id };
    });
    for (const m of (await refreshScores(tx, deps.scoring, targets, now)).moves) {
      for (const v of scopes.values()) if (v.scope === m.scope) v.moves.push(m);
    }
  }
  for (const i of indices) {
    const e = events[i]!;
    const { scope, row, promoted, moves } = scopes.get(i)!;
    const past = enrollments.get(row.id) ?? [];
    const enrolled = await applyToEnrollments(tx, deps, scope, { type: e.type, data: e.data }, past, now);
    for (const m of moves) enrolled.push(...(await applyToEnrollments(tx, deps, scope, stageChangedFacts(m.change), past, now)));
    results[i] = { status: 'applied', contactId: row.id, enrolled, promoted, after: scope.after };
  }
  await buffer.flush(tx);
}

async function applyOne(tx: Kysely<Database>, deps: EngineDeps, event: NurtureEvent, now: DateTime): Promise<ApplyResult> {
  const { row, inserted } = await upsertContactForEvent(tx, event);
  const ref = touchRefOf(event);
  const touch = ref ? await findTouchByRef(tx, ref) : undefined;
  const ownTouch = touch && touch.contact_id === row.id ? touch : undefined;
  if (!(await insertEvent(tx, event, row.id, ownTouch?.id ?? null))) throw new EventRaceError(event.id);

  const scope = newScope(row);
  const { promoted, moves } = await applyLifecycle(tx, deps, scope, event, now);
  if (deps.scoring) {
    const types = scoredEventTypes(deps.scoring);
    const history = inserted ? (types.includes(event.type) ? [scoredEventOf(event)] : []) : ((await scoredEventsOf(tx, [row.id], types)).get(row.id) ?? []);
    moves.push(...(await refreshScores(tx, deps.scoring, [{ scope, cached: cachedScoreOf(row), history, eventId: event.id }], now)).moves);
  }

  const facts: EventFacts = {
    type: event.type,
    data: event.data,
    ref: ownTouch?.enrollment_id ? { enrollmentId: ownTouch.enrollment_id, stepId: ownTouch.step_id } : undefined,
  };
  const enrollments = inserted ? [] : await enrollmentsOfContact(tx, scope.contact.id);
  const enrolled = await applyToEnrollments(tx, deps, scope, facts, enrollments, now);
  // What the event changed in the stage reaches the sequences after the event itself.
  for (const m of moves) enrolled.push(...(await applyToEnrollments(tx, deps, scope, stageChangedFacts(m.change), enrollments, now)));
  return { status: 'applied', contactId: scope.contact.id, enrolled, promoted, after: scope.after };
}

/**
 * A contact this event creates is scored from the event alone, and the score goes in with the
 * insert: the opt-in path then writes each new contact once. The same inputs give the same score
 * later (refreshScores finds nothing to write); contacts that already existed keep their row's
 * cached score until refreshScores compares it.
 */
function newContactScore(rules: ScoringRules, now: DateTime): ScoreIfNew {
  const types = scoredEventTypes(rules);
  return (e) => {
    const contact = newContactFields(e.contact);
    const history = types.includes(e.type) ? [scoredEventOf(e)] : [];
    const s = scoreNow(rules, contact, history, now);
    return { score: Math.round(s.total), fit_score: s.fit, engagement_score: s.engagement, score_at: now.toJSDate() };
  };
}

function scoredEventOf(e: NurtureEvent): ScoredEvent {
  return { id: e.id, type: e.type, at: Date.parse(e.occurredAt), data: e.data };
}

/**
 * Feeds a stage change to a contact's sequences as a `stage_changed` event, for changes made
 * outside an event (the decay sweep, a rebuild). The caller's transaction holds the contact's lock.
 */
export async function applyStageChanged(
  tx: Kysely<Database>,
  deps: EngineDeps,
  scope: ContactScope,
  move: StageMove,
  enrollments: EnrollmentRow[],
  now: DateTime,
): Promise<string[]> {
  return applyToEnrollments(tx, deps, scope, stageChangedFacts(move.change), enrollments, now);
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
 * Carries out the lifecycle decision for this event (src/sequences/stage.ts) in this transaction:
 * the contact's stage and email standing, one `stage_changes` row per transition, then the work
 * the decision asks for (ending nurture on an unsubscribe or a promotion, stopping email on a
 * bounce, sales' call to a new lead).
 */
async function applyLifecycle(
  tx: Kysely<Database>,
  deps: EngineDeps,
  scope: ContactScope,
  event: NurtureEvent,
  now: DateTime,
): Promise<{ promoted: boolean; moves: StageMove[] }> {
  const c = scope.contact;
  const d = decideLifecycle(c, event, deps.config.promotion, now);
  if (d.changes.length === 0) return { promoted: false, moves: [] };
  const next = d.contact;
  const date = (iso: string | null) => (iso === null ? null : new Date(iso));
  const promotion = d.changes.find((ch) => ch.kind === 'stage' && ch.to === 'lead');
  const patch: ContactPatch = {
    ...(next.status !== c.status ? { status: next.status } : {}),
    ...(next.unsubscribedAt !== c.unsubscribedAt ? { unsubscribed_at: date(next.unsubscribedAt) } : {}),
    ...(next.bouncedAt !== c.bouncedAt ? { bounced_at: date(next.bouncedAt) } : {}),
    ...(promotion ? { promoted_at: new Date(promotion.at), promotion_reason: promotion.reason } : {}),
  };
  await updateContact(tx, c.id, patch);
  await insertStageChanges(tx, c.id, d.changes);
  // The suppression list follows the person's consent whichever way it came (a link, a producer's event).
  for (const ch of d.changes) {
    if (ch.kind === 'unsubscribed') await suppress(tx, { email: c.email, reason: 'unsubscribed', source: 'event', detail: `event ${event.id}`, at: new Date(ch.at) });
    if (ch.kind === 'resubscribed') await liftSuppression(tx, c.email, 'unsubscribed');
  }
  c.status = next.status;
  c.unsubscribedAt = next.unsubscribedAt;
  c.bouncedAt = next.bouncedAt;
  for (const effect of d.effects) {
    switch (effect.kind) {
      case 'end_nurture':
        await endAllNurture(tx, c.id, effect.reason, now.toJSDate());
        break;
      case 'stop_email':
        // A bounce stops email, not the rest of the follow-up: postcards and calls still reach people.
        await cancelPendingEmails(tx, c.id, effect.reason);
        break;
      case 'lead_call':
        await createLeadCall(tx, deps, c, effect.reason, now);
        break;
      default:
        assertNever(effect);
    }
  }
  const moves = d.changes.filter((ch) => ch.kind === 'stage').map((change) => ({ scope, change }));
  return { promoted: promotion !== undefined, moves };
}

async function endAllNurture(tx: Kysely<Database>, contactId: string, reason: string, at: Date): Promise<void> {
  await endActiveEnrollments(tx, contactId, 'exited', reason, at);
  // A confirmation the person asked for is not nurture: a lead signal or a stage set by hand leaves it to go.
  await cancelPendingEmails(tx, contactId, reason, { nurtureOnly: reason !== 'unsubscribed' });
  await cancelOpenNurtureTasks(tx, contactId, `cancelled: ${reason}`, at);
}

/**
 * Sales' call to a new lead: high priority, due within the configured time (an hour by default).
 * Nurture has already ended (the decision put that first), so no further nurture touch goes out.
 */
async function createLeadCall(tx: Kysely<Database>, deps: EngineDeps, c: Contact, reason: string, now: DateTime): Promise<void> {
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
