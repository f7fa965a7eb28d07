import type { DateTime } from 'luxon';
import { holdWork, lockSequence, setSequenceStatus } from '../db/control-repository.js';
import type { EngineDeps } from '../engine/engine-deps.js';
import { ConflictError, NotFoundError } from '../errors.js';

export interface PauseSequenceResult {
  sequenceId: string;
  /** It was paused already: nothing changed. */
  already: boolean;
  /** In-flight enrollments and unsent emails now held until `nurture sequences resume`. */
  heldEnrollments: number;
  heldEmails: number;
}

/**
 * Pauses a live sequence: triggers stop enrolling into it, and its contacts in flight are held
 * where they are (wake-ups and unsent emails kept, not lost) until it is resumed.
 */
export async function pauseSequence(deps: Pick<EngineDeps, 'db'>, sequenceId: string, now: DateTime): Promise<PauseSequenceResult> {
  return deps.db.transaction().execute(async (tx) => {
    const s = await lockSequence(tx, sequenceId);
    if (!s) throw new NotFoundError(`no sequence with id "${sequenceId}" in the store (see: nurture sequences list)`);
    if (s.status === 'retired') throw new ConflictError(`sequence ${sequenceId} is retired: there is nothing in flight to pause (resume it to make it live again)`);
    if (s.status === 'paused') return { sequenceId, already: true, heldEnrollments: 0, heldEmails: 0 };
    await setSequenceStatus(tx, sequenceId, 'paused');
    const held = await holdWork(tx, { sequenceId }, now.toJSDate());
    return { sequenceId, already: false, heldEnrollments: held.enrollments, heldEmails: held.emails };
  });
}
