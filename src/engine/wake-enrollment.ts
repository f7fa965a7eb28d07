import type { DateTime } from 'luxon';
import { lockContact, toContact } from '../db/contact-repository.js';
import { lockEnrollment } from '../db/enrollment-repository.js';
import type { AfterCommit, ContactScope, EngineDeps } from './engine-deps.js';
import { advanceEnrollment } from './advance-enrollment.js';
import { emptyAfterCommit } from './engine-deps.js';

export type WakeResult =
  | { status: 'advanced'; outcome: string; after: AfterCommit }
  /** The job was made for an older state (already advanced, ended, or rescheduled): nothing to do. */
  | { status: 'stale'; after: AfterCommit }
  /** Woken before its time (clock skew between hosts): the sweeper queues it again. */
  | { status: 'early'; after: AfterCommit };

/** Runs an enrollment whose wait is over. Safe to run twice: the version check makes the second a no-op. */
export async function wakeEnrollment(deps: EngineDeps, enrollmentId: string, version: number, now: DateTime): Promise<WakeResult> {
  const peek = await deps.db.selectFrom('enrollments').select(['contact_id', 'status', 'wake_version']).where('id', '=', enrollmentId).executeTakeFirst();
  if (!peek || peek.status !== 'active' || peek.wake_version !== version) return { status: 'stale', after: emptyAfterCommit() };
  return deps.db.transaction().execute(async (tx) => {
    // Contact first, then enrollment: the same order as event processing, so no deadlock.
    const contactRow = await lockContact(tx, peek.contact_id);
    const e = await lockEnrollment(tx, enrollmentId);
    if (!contactRow || !e || e.status !== 'active' || e.wake_version !== version) return { status: 'stale', after: emptyAfterCommit() };
    if (e.next_wake_at && e.next_wake_at.getTime() > now.toMillis()) return { status: 'early', after: emptyAfterCommit() };
    const scope: ContactScope = { contact: toContact(contactRow), history: undefined, recentEmails: undefined, after: emptyAfterCommit(), started: new Set() };
    const r = await advanceEnrollment(tx, deps, scope, e, { kind: 'wake' }, now);
    return { status: r.changed ? 'advanced' : 'stale', outcome: r.outcome, after: scope.after };
  });
}
