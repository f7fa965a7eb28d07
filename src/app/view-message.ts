import type { DateTime } from 'luxon';
import type { ViewedMessage } from '../engine/view-touch.js';
import { viewTouch } from '../engine/view-touch.js';
import type { LinkSubject } from '../security/message-links.js';
import type { AppContext } from './context.js';

export type { ViewedMessage };

/** The message behind a "view in the browser" link; a link about a contact alone names no message. */
export async function viewMessage(ctx: AppContext, subject: LinkSubject, now: DateTime): Promise<ViewedMessage> {
  if (!('touchId' in subject)) return { status: 'unknown' };
  return viewTouch(ctx.deps, subject.touchId, now);
}
