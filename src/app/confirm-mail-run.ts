import type { DateTime } from 'luxon';
import { findMailRun, markMailRunConfirmed } from '../db/mail-run-repository.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { MailKind } from '../staff/mail-piece.js';
import { completeTask } from './complete-task.js';
import type { AppContext } from './context.js';

/** The outcome a confirmed piece is completed with. */
export const MAIL_SENT_OUTCOME = 'sent';

export interface MailRunConfirmed {
  runId: string;
  kind: MailKind;
  dueDate: string;
  /** The run was confirmed before (by `confirmedBy` at `confirmedAt`): nothing was changed now. */
  alreadyConfirmed: boolean;
  confirmedAt: Date;
  confirmedBy: string;
  /** Tasks marked done now, and those that already were done as sent. */
  sent: number[];
  alreadySent: number[];
  /** Tasks that could not be completed as sent (cancelled or done otherwise since the export), with why. */
  left: { taskId: number; reason: string }[];
}

/**
 * The vendor has the run: every piece in it is done with outcome `sent`, through the same use case
 * staff complete tasks with, and the run is stamped confirmed. A piece cancelled or completed
 * otherwise since the export is left as it is and listed. A second confirmation changes nothing.
 */
export async function confirmMailRun(ctx: AppContext, runId: string, by: string, now: DateTime): Promise<MailRunConfirmed> {
  const run = await findMailRun(ctx.deps.db, runId);
  if (!run) throw new NotFoundError(`no mail run with id "${runId}" (the id nurture mail-run printed, e.g. mr-2026-12-03-postcard-1a2b3c)`);
  const base = { runId: run.id, kind: run.kind, dueDate: run.dueDate };
  if (run.confirmedAt) {
    return { ...base, alreadyConfirmed: true, confirmedAt: run.confirmedAt, confirmedBy: run.confirmedBy ?? '', sent: [], alreadySent: [], left: [] };
  }
  const sent: number[] = [];
  const alreadySent: number[] = [];
  const left: MailRunConfirmed['left'] = [];
  // One task at a time: each completion is its own transaction, and a crash half-way is healed by
  // confirming again (a task done as sent stays so; the run is stamped only at the end).
  for (const id of run.taskIds) {
    try {
      const r = await completeTask(ctx, id, MAIL_SENT_OUTCOME, now, { actor: by });
      (r.alreadyDone ? alreadySent : sent).push(id);
    } catch (err) {
      if (err instanceof ConflictError || err instanceof NotFoundError) left.push({ taskId: id, reason: err.message });
      else throw err;
    }
  }
  const at = now.toJSDate();
  const won = await markMailRunConfirmed(ctx.deps.db, run.id, at, by);
  if (!won) {
    // Another confirmation finished meanwhile; the tasks are done either way (the same outcome).
    const again = await findMailRun(ctx.deps.db, run.id);
    return { ...base, alreadyConfirmed: true, confirmedAt: again?.confirmedAt ?? at, confirmedBy: again?.confirmedBy ?? '', sent, alreadySent, left };
  }
  ctx.log.info({ runId: run.id, sent: sent.length, alreadySent: alreadySent.length, left: left.length }, 'mail run confirmed');
  return { ...base, alreadyConfirmed: false, confirmedAt: at, confirmedBy: by, sent, alreadySent, left };
}
