import type { DateTime } from 'luxon';
import { addressOfMessage, hasContact } from '../db/notice-repository.js';
import { suppress } from '../db/suppression-repository.js';
import type { DeliveryNotice, NoticeSuppression } from '../sequences/bounce.js';
import { decideNotice, noticeEvent } from '../sequences/bounce.js';
import type { AppContext } from './context.js';
import type { EventIntake } from './event-intake.js';

export interface RecordedNotice {
  /** The address the notice is about: given, or found from the Message-ID; null when neither. */
  email: string | null;
  /** The suppression written (or already there), if the notice calls for one. */
  suppressed: NoticeSuppression | null;
  /** The event handed to the engine for the contact, or null when no contact holds the address. */
  eventId: string | null;
}

/**
 * Records one bounce or complaint notice received at the edge (a signed webhook, a provider's
 * callback): a hard bounce or a complaint puts the address on the suppression list at once (so
 * no email goes to it even before the engine applies the event), then the notice becomes an
 * event on the contact through the intake (`bounced`, `unsubscribed` or `soft_bounced`: see
 * src/sequences/bounce.ts). Idempotent: the suppression keeps its first entry, and the event id
 * comes from the notice's own id, so a redelivered notice is applied once.
 *
 * An address no contact holds is still suppressed, but no contact is made up for it.
 */
export async function recordNotice(
  ctx: AppContext,
  intake: EventIntake,
  n: DeliveryNotice & { email?: string | undefined },
  now: DateTime,
): Promise<RecordedNotice> {
  const db = ctx.deps.db;
  const given = n.email?.trim().toLowerCase();
  const email = given ?? (n.messageRef ? await addressOfMessage(db, n.messageRef) : undefined);
  if (!email) {
    ctx.log.info({ source: n.source, noticeId: n.noticeId, messageId: n.messageRef }, `${n.kind} notice for a message Nurture did not send: nothing to record`);
    return { email: null, suppressed: null, eventId: null };
  }
  const d = decideNotice(n);
  if (d.suppression) await suppress(db, { email, reason: d.suppression, source: n.source, detail: n.reason, at: now.toJSDate() });
  if (!(await hasContact(db, email))) return { email, suppressed: d.suppression, eventId: null };
  const event = noticeEvent(n, email);
  await intake.accept([event]);
  return { email, suppressed: d.suppression, eventId: event.id };
}
