import type { DateTime } from 'luxon';
import { lockSequence, releaseWork, setSequenceStatus } from '../db/control-repository.js';
import type { AfterCommit } from '../engine/engine-deps.js';
import { NotFoundError } from '../errors.js';
import type { AppContext } from './context.js';
import { scheduleOrLeave } from './scheduler.js';

export interface ResumeSequenceResult {
  sequenceId: string;
  previous: 'live' | 'paused' | 'retired';
  /** Enrollments released, with their wake-ups and emails back on the way. */
  released: number;
  /** Still held because their contact is paused (`nurture contacts resume EMAIL`). */
  stillHeld: number;
  /** Held emails of enrollments that ended during the pause (unsubscribed, lead): cancelled. */
  cancelledEmails: number;
  after: AfterCommit;
}

/**
 * Makes a paused or retired sequence live again. Held contacts continue where they were: a wait
 * that ended during the pause runs once, now, and the rest of the sequence keeps its spacing from
 * there (no burst of overdue touches). A retired sequence's contacts stay ended; only new triggers
 * enroll again.
 */
export async function resumeSequence(ctx: AppContext, sequenceId: string, now: DateTime): Promise<ResumeSequenceResult> {
  const { deps } = ctx;
  const result = await deps.db.transaction().execute(async (tx) => {
    const s = await lockSequence(tx, sequenceId);
    if (!s) throw new NotFoundError(`no sequence with id "${sequenceId}" in the store (see: nurture sequences list)`);
    if (s.status !== 'live') await setSequenceStatus(tx, sequenceId, 'live');
    const r = await releaseWork(tx, { sequenceId });
    return {
      sequenceId,
      previous: s.status,
      released: r.released,
      stillHeld: r.stillHeld,
      cancelledEmails: r.cancelled,
      after: { sends: r.sends, wakes: r.wakes },
    };
  });
  // Committed: the follow-up work goes to the scheduler (a CLI command's leaves it to the sweeper).
  await scheduleOrLeave(ctx, result.after, now);
  return result;
}
