import type { DateTime } from 'luxon';
import type { AfterCommit } from '../engine/engine-deps.js';
import { emptyAfterCommit } from '../engine/engine-deps.js';
import type { BatchSendOutcome, SendTouchesOptions } from '../engine/send-touches.js';
import { sendTouches } from '../engine/send-touches.js';
import type { MailSender } from '../templates/mail-sender.js';
import type { AppContext } from './context.js';
import { scheduleOrLeave } from './scheduler.js';
import { sendEmail } from './send-email.js';

export type { BatchSendOutcome, SendTouchesOptions };

/**
 * Sends a batch of email touches with a few statements for the whole batch (see sendTouches).
 * A batch of one is sendEmail itself, whose errors are thrown; a batch that throws while it is
 * prepared (a template that does not render) is for the caller to split, so the one touch at
 * fault fails alone; once mail may have gone out (`opts.onSendPhase`) it is not (see Batcher).
 * Hard bounces' follow-up work is scheduled here, in one go.
 */
export async function sendEmails(ctx: AppContext, mail: MailSender, touchIds: readonly string[], now: DateTime, opts: SendTouchesOptions = {}): Promise<BatchSendOutcome[]> {
  if (touchIds.length === 1) return [{ ok: await sendEmail(ctx, mail, touchIds[0]!, now) }];
  const outcomes = await sendTouches(ctx.deps, mail, touchIds, now, opts);
  const after: AfterCommit = emptyAfterCommit();
  for (const o of outcomes) {
    if ('ok' in o && o.ok.status === 'bounced') {
      after.sends.push(...o.ok.after.sends);
      after.wakes.push(...o.ok.after.wakes);
    }
  }
  if (after.sends.length > 0 || after.wakes.length > 0) await scheduleOrLeave(ctx, after, now);
  return outcomes;
}
