import type { DateTime } from 'luxon';
import { releaseWork, setContactPaused } from '../db/control-repository.js';
import type { AfterCommit } from '../engine/engine-deps.js';
import { lockContactByEmail } from './contact-lock.js';
import type { AppContext } from './context.js';
import { scheduleOrLeave } from './scheduler.js';

export interface ResumeContactResult {
  email: string;
  wasPaused: boolean;
  released: number;
  /** Still held because their sequence is paused. */
  stillHeld: number;
  cancelledEmails: number;
  after: AfterCommit;
}

/**
 * Resumes a paused contact where they were. A wait that ended during the pause runs once, now;
 * the engine's late-wake rule restarts the clock there, so the rest keeps its spacing (no flood).
 */
export async function resumeContact(ctx: AppContext, email: string, now: DateTime): Promise<ResumeContactResult> {
  const { deps } = ctx;
  const result = await deps.db.transaction().execute(async (tx) => {
    const row = await lockContactByEmail(tx, email);
    if (row.paused_at) await setContactPaused(tx, row.id, null);
    const r = await releaseWork(tx, { contactId: row.id });
    return {
      email: row.email,
      wasPaused: row.paused_at !== null,
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
