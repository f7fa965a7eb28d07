import type { DateTime } from 'luxon';
import { endEnrollments, lockSequence, setSequenceStatus } from '../db/control-repository.js';
import type { EngineDeps } from '../engine/engine-deps.js';
import { NotFoundError } from '../errors.js';

export interface RetireSequenceResult {
  sequenceId: string;
  already: boolean;
  /** Enrollments ended as exited, reason `retired`. */
  exited: number;
  cancelledEmails: number;
  cancelledTasks: number;
}

export const RETIRED_REASON = 'retired';

/**
 * Retires a sequence for good: triggers never enroll into it again (even if its file comes back,
 * until `nurture sequences resume`), and every contact in flight leaves it now (exited, reason
 * `retired`) with its unsent emails and open staff tasks cancelled. The CLI shows this, from
 * src/queries/sequences.ts `retirePlan`, before it asks for --yes.
 */
export async function retireSequence(deps: Pick<EngineDeps, 'db'>, sequenceId: string, now: DateTime): Promise<RetireSequenceResult> {
  return deps.db.transaction().execute(async (tx) => {
    const s = await lockSequence(tx, sequenceId);
    if (!s) throw new NotFoundError(`no sequence with id "${sequenceId}" in the store (see: nurture sequences list)`);
    if (s.status !== 'retired') await setSequenceStatus(tx, sequenceId, 'retired');
    const ended = await endEnrollments(tx, { sequenceId }, RETIRED_REASON, now.toJSDate());
    return {
      sequenceId,
      already: s.status === 'retired' && ended.enrollments.length === 0,
      exited: ended.enrollments.length,
      cancelledEmails: ended.emails,
      cancelledTasks: ended.tasks,
    };
  });
}
