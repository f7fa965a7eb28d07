import type { DateTime } from 'luxon';
import type { Kysely } from 'kysely';
import { lockContactsOfEnrollments, toContact } from '../db/contact-repository.js';
import type { ContactRow } from '../db/contact-repository.js';
import type { EnrollmentRow, EnrollmentUpdate } from '../db/enrollment-repository.js';
import { lockEnrollments, updateEnrollments } from '../db/enrollment-repository.js';
import type { Database } from '../db/schema.js';
import type { NewTouch } from '../db/touch-repository.js';
import { insertTouches } from '../db/touch-repository.js';
import type { Action, AdvanceResult } from '../sequences/advance.js';
import { advance } from '../sequences/advance.js';
import { advanceEnrollment, inputsFor } from './advance-enrollment.js';
import type { ContactScope, EngineDeps } from './engine-deps.js';
import { emptyAfterCommit } from './engine-deps.js';
import { touchOf } from './touch-rows.js';
import type { WakeResult } from './wake-enrollment.js';

export interface WakeRequest {
  enrollmentId: string;
  version: number;
}

/** Actions the bulk path writes itself: touches only (no task, no contact change, no sequence started). */
function onlyTouches(actions: readonly Action[]): actions is (Action & { kind: 'email' | 'skipped' })[] {
  return actions.every((a) => a.kind === 'email' || a.kind === 'skipped');
}

function scopeOf(row: ContactRow): ContactScope {
  return { contact: toContact(row), history: undefined, recentEmails: undefined, after: emptyAfterCommit(), started: new Set() };
}

/**
 * Runs many wake-ups in one transaction, as wakeEnrollment does one: every contact is locked,
 * then every enrollment (each in id order, contacts first as everywhere in the engine), and a
 * wake-up made for an older version is stale. The usual case, one enrollment of its contact
 * in the batch whose step writes only touches, is written with one statement per table for the
 * whole batch. A contact with several enrollments here, or a step that also makes a task, changes
 * the contact or starts a sequence, is advanced one by one in the same transaction. Touch keys
 * are unique, so a step's touch is written once whatever runs twice.
 */
export async function wakeEnrollments(deps: EngineDeps, requests: readonly WakeRequest[], now: DateTime): Promise<WakeResult[]> {
  return deps.db.transaction().execute((tx) => wakeEnrollmentsIn(tx, deps, requests, now));
}

async function wakeEnrollmentsIn(tx: Kysely<Database>, deps: EngineDeps, requests: readonly WakeRequest[], now: DateTime): Promise<WakeResult[]> {
  const ids = [...new Set(requests.map((r) => r.enrollmentId))];
  const contacts = await lockContactsOfEnrollments(tx, ids);
  const rows = await lockEnrollments(tx, ids);
  await deps.registry.sync(tx);
  const results: WakeResult[] = new Array(requests.length);
  const live: { i: number; e: EnrollmentRow; contact: ContactRow }[] = [];
  const taken = new Set<string>();
  requests.forEach((r, i) => {
    const e = rows.get(r.enrollmentId);
    const contact = e && contacts.get(e.contact_id);
    // The same enrollment twice in a batch: only the job for its current version can run.
    if (!e || !contact || e.status !== 'active' || e.wake_version !== r.version || taken.has(e.id)) {
      results[i] = { status: 'stale', after: emptyAfterCommit() };
    } else if (e.next_wake_at && e.next_wake_at.getTime() > now.toMillis()) {
      results[i] = { status: 'early', after: emptyAfterCommit() };
    } else {
      taken.add(e.id);
      live.push({ i, e, contact });
    }
  });
  const perContact = new Map<string, number>();
  for (const l of live) perContact.set(l.contact.id, (perContact.get(l.contact.id) ?? 0) + 1);

  const updates: (EnrollmentUpdate & { id: string })[] = [];
  const touches: { i: number; touch: NewTouch; email: boolean }[] = [];
  const oneByOne: typeof live = [];
  for (const l of live) {
    if (perContact.get(l.contact.id)! > 1) {
      oneByOne.push(l);
      continue;
    }
    const scope = scopeOf(l.contact);
    const { program, state } = await deps.registry.forEnrollment(l.e, tx, { synced: true });
    const inputs = await inputsFor(tx, deps, scope, program, now);
    const result: AdvanceResult = advance({ program, state, enrollmentId: l.e.id, contact: scope.contact, ...inputs, trigger: { kind: 'wake' }, now, settings: deps.config });
    if (!result.changed) {
      results[l.i] = { status: 'stale', after: emptyAfterCommit() };
      continue;
    }
    if (!onlyTouches(result.actions)) {
      oneByOne.push(l);
      continue;
    }
    updates.push({
      id: l.e.id,
      status: result.outcome,
      exit_reason: result.reason,
      state: result.state,
      step_id: result.stepId,
      sequence_version: program.version,
      next_wake_at: result.wakeAt?.toJSDate() ?? null,
      ended_at: result.outcome === 'active' ? null : now.toJSDate(),
    });
    const base = { enrollment_id: l.e.id, contact_id: l.contact.id, sequence_id: program.sequenceId };
    for (const a of result.actions) touches.push({ i: l.i, touch: touchOf(a, base), email: a.kind === 'email' });
    const after = emptyAfterCommit();
    if (result.outcome === 'active' && result.wakeAt) after.wakes.push({ enrollmentId: l.e.id, version: l.e.wake_version + 1, at: result.wakeAt.toJSDate() });
    results[l.i] = { status: 'advanced', outcome: result.outcome, after };
  }
  await updateEnrollments(tx, updates);
  const inserted = await insertTouches(
    tx,
    touches.map((t) => t.touch),
  );
  for (const t of touches) {
    if (t.email && inserted.has(t.touch.id)) results[t.i]!.after.sends.push({ touchId: t.touch.id, at: t.touch.due_at });
  }

  // Contacts in id order, each one's enrollments in due order: the order one-by-one wake-ups would take.
  oneByOne.sort((x, y) => (x.contact.id < y.contact.id ? -1 : x.contact.id > y.contact.id ? 1 : (x.e.next_wake_at?.getTime() ?? 0) - (y.e.next_wake_at?.getTime() ?? 0)));
  const scopes = new Map<string, ContactScope>();
  for (const l of oneByOne) {
    let scope = scopes.get(l.contact.id);
    if (!scope) scopes.set(l.contact.id, (scope = scopeOf(l.contact)));
    // Each wake-up's follow-up work is its own (its job's correlation id goes with it).
    scope.after = emptyAfterCommit();
    const r = await advanceEnrollment(tx, deps, scope, l.e, { kind: 'wake' }, now);
    results[l.i] = { status: r.changed ? 'advanced' : 'stale', outcome: r.outcome, after: scope.after } as WakeResult;
  }
  return results;
}
