import type { DateTime } from 'luxon';
import type { SendOutcome } from '../engine/send-touch.js';
import { sendTouch } from '../engine/send-touch.js';
import type { MailSender } from '../templates/mail-sender.js';
import type { AppContext } from './context.js';

export type { SendOutcome };

/** Sends one email touch through the given transport: one call, one non-idempotent side effect. */
export async function sendEmail(ctx: AppContext, mail: MailSender, touchId: string, now: DateTime): Promise<SendOutcome> {
  return sendTouch(ctx.deps, mail, touchId, now);
}
