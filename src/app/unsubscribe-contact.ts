import type { DateTime } from 'luxon';
import { applyEventsIn } from '../engine/apply-event.js';
import { emptyAfterCommit } from '../engine/engine-deps.js';
import { recordConsent } from '../db/consent-repository.js';
import { lockLinkedContact } from '../db/link-target-repository.js';
import { suppress, suppressionsOf } from '../db/suppression-repository.js';
import { retryTransient } from '../db/transient.js';
import type { LinkSubject } from '../security/message-links.js';
import type { NurtureEvent } from '../sequences/event.js';
import { unsubscribeTokenOfSubject } from '../templates/list-unsubscribe.js';
import type { AppContext } from './context.js';
import { scheduleOrLeave } from './scheduler.js';

/** How the person asked: their mail client's button (RFC 8058), our confirmation page, or a mail to the mailto: address. */
export type UnsubscribeSource = 'one-click' | 'page' | 'mailto';

export interface UnsubscribeRequest {
  /** Who the signed link is about. */
  subject: LinkSubject;
  source: UnsubscribeSource;
  ip?: string | undefined;
  userAgent?: string | undefined;
}

export type UnsubscribeResult =
  /** `already`: the address was on the list before (a repeated click): nothing new was recorded. */
  | { status: 'unsubscribed'; email: string; already: boolean }
  /** The link's contact no longer exists (erased): there is nobody left to mail. */
  | { status: 'unknown' };

/** The event an unsubscribe hands the engine: derived from the stored suppression, so a repeat is the same event, applied once. */
export function unsubscribeEvent(contactId: string, email: string, source: string, at: Date): NurtureEvent {
  return { id: `unsubscribe-${contactId}-${at.getTime()}`, type: 'unsubscribed', occurredAt: at.toISOString(), contact: { email }, data: { source } };
}

/**
 * Unsubscribes the person a signed link is about, in one transaction committed before the
 * caller answers: the address goes on the suppression list (so no email reaches it, under this
 * contact or any later one), the consent history records how and from where, and the engine
 * applies an `unsubscribed` event (every enrollment exits, unsent emails and open nurture
 * tasks are cancelled), exactly as one from the queue would. Idempotent: a second request finds
 * the address suppressed and the contact unsubscribed, and changes nothing.
 */
export async function unsubscribeContact(ctx: AppContext, req: UnsubscribeRequest, now: DateTime): Promise<UnsubscribeResult> {
  const at = now.toJSDate();
  const outcome = await retryTransient(
    () =>
      ctx.deps.db.transaction().execute(async (tx) => {
        const contact = await lockLinkedContact(tx, req.subject);
        if (!contact) return { result: { status: 'unknown' } as const, after: emptyAfterCommit() };
        const fresh = await suppress(tx, { email: contact.email, reason: 'unsubscribed', source: req.source, at });
        if (fresh) {
          await recordConsent(tx, {
            email: contact.email,
            contactId: contact.id,
            kind: 'unsubscribed',
            at,
            source: req.source,
            ip: req.ip,
            userAgent: req.userAgent,
            detail: 'touchId' in req.subject ? { touchId: req.subject.touchId } : {},
          });
        }
        const after = emptyAfterCommit();
        if (contact.unsubscribed_at === null) {
          // The entry as stored (a repeat after a failure finds the first one): the same event id, the same body.
          const entry = (await suppressionsOf(tx, contact.email)).find((s) => s.reason === 'unsubscribed')!;
          const [applied] = await applyEventsIn(tx, ctx.deps, [unsubscribeEvent(contact.id, contact.email, entry.source, entry.at)], now);
          after.sends.push(...applied!.after.sends);
          after.wakes.push(...applied!.after.wakes);
        }
        return { result: { status: 'unsubscribed', email: contact.email, already: !fresh } as const, after };
      }),
    { tries: 3, onRetry: (err, attempt) => ctx.log.warn({ err: (err as Error).message, attempt }, 'unsubscribe: database busy, trying again') },
  );
  await scheduleOrLeave(ctx, outcome.after, now);
  return outcome.result;
}

/**
 * A mail sent to the List-Unsubscribe mailto: address, for whatever reads that mailbox: its
 * subject carries the token (`unsubscribe TOKEN`, a "Re:" before it is fine). `invalid` when the
 * subject holds no token that verifies: nothing is changed.
 */
export async function unsubscribeByMail(
  ctx: AppContext,
  mail: { subject: string },
  now: DateTime,
): Promise<UnsubscribeResult | { status: 'invalid' }> {
  const token = unsubscribeTokenOfSubject(mail.subject);
  const subject = token === undefined ? undefined : ctx.deps.links.subjectOf('unsubscribe', token);
  if (!subject) return { status: 'invalid' };
  return unsubscribeContact(ctx, { subject, source: 'mailto' }, now);
}
