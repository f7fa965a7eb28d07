import type { DateTime } from 'luxon';
import type { SendOutcome } from '../engine/send-touch.js';
import { sendTouch } from '../engine/send-touch.js';
import type { MailSender } from '../templates/mail-sender.js';
import type { AppContext } from './context.js';
import { scheduleOrLeave } from './scheduler.js';

export type { SendOutcome };

/**
 * Sends one email touch through the given transport: one call, one non-idempotent side effect.
 * A hard bounce is recorded on the contact like a `bounced` event; its follow-up work (an
 * enrollment waiting for that event moves on) is scheduled here.
 */
export async function sendEmail(ctx: AppContext, mail: MailSender, touchId: string, now: DateTime): Promise<SendOutcome> {
  const outcome = await sendTouch(ctx.deps, mail, touchId, now);
  if (outcome.status === 'bounced') await scheduleOrLeave(ctx, outcome.after, now);
  return outcome;
}
