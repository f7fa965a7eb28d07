import type { DateTime } from 'luxon';
import { endEnrollments } from '../db/control-repository.js';
import type { EngineDeps } from '../engine/engine-deps.js';
import { NotFoundError } from '../errors.js';
import { lockContactByEmail } from './contact-lock.js';

export interface RemoveEnrollmentResult {
  email: string;
  sequenceId: string;
  enrollmentId: string;
  cancelledEmails: number;
  cancelledTasks: number;
}

export const REMOVED_REASON = 'removed';

/** Takes a contact out of a sequence by hand: exited, reason `removed`; its unsent emails and open tasks are cancelled. */
export async function removeEnrollment(deps: Pick<EngineDeps, 'db'>, email: string, sequenceId: string, now: DateTime): Promise<RemoveEnrollmentResult> {
  return deps.db.transaction().execute(async (tx) => {
    const row = await lockContactByEmail(tx, email);
    const active = await tx
      .selectFrom('enrollments')
      .select('id')
      .where('contact_id', '=', row.id)
      .where('sequence_id', '=', sequenceId)
      .where('status', '=', 'active')
      .executeTakeFirst();
    if (!active) throw new NotFoundError(`${row.email} is not in sequence ${sequenceId} right now (see: nurture contacts show ${row.email})`);
    const ended = await endEnrollments(tx, { enrollmentId: active.id }, REMOVED_REASON, now.toJSDate());
    return { email: row.email, sequenceId, enrollmentId: active.id, cancelledEmails: ended.emails, cancelledTasks: ended.tasks };
  });
}
