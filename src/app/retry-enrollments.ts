import type { DateTime } from 'luxon';
import { releaseQuarantined } from '../db/enrollment-repository.js';
import type { AfterCommit } from '../engine/engine-deps.js';
import { ConflictError, InputError, NotFoundError } from '../errors.js';
import type { AppContext } from './context.js';
import { scheduleOrLeave } from './scheduler.js';

export interface RetryEnrollmentsResult {
  /** The enrollments released from quarantine, with when their wake-up is due (usually in the past: now). */
  retried: { enrollmentId: string; wakeAt: string | null }[];
  /** Their wake-ups, for a process that holds the queues; otherwise the running sweeper offers them within seconds. */
  after: AfterCommit;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Runs quarantined enrollments again (`nurture enrollments retry ID... | --all`): their failed
 * tries start from zero and their wake-up gets a new version, so it is offered afresh. Meant for
 * after the cause was fixed; if it was not, they come back to quarantine after the same tries.
 */
export async function retryEnrollments(ctx: AppContext, target: { ids: readonly string[] } | { all: true }, now: DateTime): Promise<RetryEnrollmentsResult> {
  if ('ids' in target) {
    if (target.ids.length === 0) throw new InputError('nurture enrollments retry: give enrollment IDs (the ENROLLMENT column of: nurture enrollments stuck) or --all');
    for (const id of target.ids) {
      if (!UUID.test(id)) throw new InputError(`enrollment id "${id}" is not an id (the ENROLLMENT column of: nurture enrollments stuck)`);
    }
  }
  const result = await ctx.deps.db.transaction().execute(async (tx): Promise<RetryEnrollmentsResult> => {
    // Contacts first (by email, as a batch of events locks them), then their enrollments: the
    // order every engine transaction takes, so a retry never deadlocks with events being applied.
    let contacts = tx.selectFrom('enrollments').select('contact_id').distinct();
    contacts = 'ids' in target ? contacts.where('id', 'in', target.ids.map((id) => id.toLowerCase())) : contacts.where('quarantined_at', 'is not', null).where('status', '=', 'active');
    const contactIds = (await contacts.execute()).map((r) => r.contact_id);
    if (contactIds.length > 0) await tx.selectFrom('contacts').select('id').where('id', 'in', contactIds).orderBy('email').forUpdate().execute();
    if ('ids' in target) {
      const ids = [...new Set(target.ids.map((id) => id.toLowerCase()))];
      const found = await tx.selectFrom('enrollments').select(['id', 'status', 'quarantined_at']).where('id', 'in', ids).forUpdate().execute();
      const missing = ids.filter((id) => !found.some((f) => f.id === id));
      if (missing.length > 0) throw new NotFoundError(`no enrollment ${missing.join(', ')} (see: nurture enrollments stuck)`);
      const notStuck = found.filter((f) => f.status !== 'active' || f.quarantined_at === null);
      if (notStuck.length > 0) {
        throw new ConflictError(
          `not quarantined, nothing to retry: ${notStuck.map((f) => `${f.id} (${f.status === 'active' ? 'running normally' : f.status})`).join(', ')}`,
        );
      }
    }
    const rows = await releaseQuarantined(tx, 'ids' in target ? target.ids.map((id) => id.toLowerCase()) : 'all');
    return {
      retried: rows.map((r) => ({ enrollmentId: r.id, wakeAt: r.next_wake_at ? r.next_wake_at.toISOString() : null })),
      after: {
        sends: [],
        wakes: rows.flatMap((r) => (r.next_wake_at ? [{ enrollmentId: r.id, version: r.wake_version, at: r.next_wake_at }] : [])),
      },
    };
  });
  await scheduleOrLeave(ctx, result.after, now);
  return result;
}
