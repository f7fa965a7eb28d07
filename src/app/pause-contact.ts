import type { DateTime } from 'luxon';
import { holdWork, setContactPaused } from '../db/control-repository.js';
import type { EngineDeps } from '../engine/engine-deps.js';
import { lockContactByEmail } from './contact-lock.js';

export interface PauseContactResult {
  email: string;
  already: boolean;
  heldEnrollments: number;
  heldEmails: number;
  /** Open staff tasks (postcards, letters, calls) of the contact: not Nurture's to hold, so listed for staff. */
  openTasks: number;
}

/**
 * Pauses one contact: nothing goes out to them (unsent emails held), their wake-ups are held, and
 * no trigger enrolls them, until `nurture contacts resume`. Events are still recorded, and
 * unsubscribes and lead signals still apply; engagement does not advance a held enrollment.
 */
export async function pauseContact(deps: Pick<EngineDeps, 'db'>, email: string, now: DateTime): Promise<PauseContactResult> {
  return deps.db.transaction().execute(async (tx) => {
    const row = await lockContactByEmail(tx, email);
    const tasks = await tx.selectFrom('tasks').select(tx.fn.countAll<string>().as('n')).where('contact_id', '=', row.id).where('status', '=', 'open').executeTakeFirstOrThrow();
    if (row.paused_at) return { email: row.email, already: true, heldEnrollments: 0, heldEmails: 0, openTasks: Number(tasks.n) };
    await setContactPaused(tx, row.id, now.toJSDate());
    const held = await holdWork(tx, { contactId: row.id }, now.toJSDate());
    return { email: row.email, already: false, heldEnrollments: held.enrollments, heldEmails: held.emails, openTasks: Number(tasks.n) };
  });
}
