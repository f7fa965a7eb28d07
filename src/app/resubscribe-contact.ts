import type { DateTime } from 'luxon';
import { recordConsent } from '../db/consent-repository.js';
import { lockLinkedContact } from '../db/link-target-repository.js';
import { liftSuppression } from '../db/suppression-repository.js';
import { retryTransient } from '../db/transient.js';
import { applyEventsIn } from '../engine/apply-event.js';
import { emptyAfterCommit } from '../engine/engine-deps.js';
import type { LinkSubject } from '../security/message-links.js';
import type { AppContext } from './context.js';
import { scheduleOrLeave } from './scheduler.js';

export type ResubscribeResult = { status: 'resubscribed'; email: string; already: boolean } | { status: 'unknown' };

/**
 * The person asks for email again (the preference page). Lifts only their own `unsubscribed`
 * entry (a hard bounce, a complaint or an erase stays), records it as `resubscribed` consent,
 * and hands the engine an `opt_in` dated now with `data.source: preferences`: fresh consent,
 * which is what makes an unsubscribed contact subscribed again (the lifecycle's rule), and
 * which enrolls them where a sequence's trigger and re-entry policy say so.
 */
export async function resubscribeContact(
  ctx: AppContext,
  req: { subject: LinkSubject; ip?: string | undefined; userAgent?: string | undefined },
  now: DateTime,
): Promise<ResubscribeResult> {
  const at = now.toJSDate();
  const outcome = await retryTransient(() =>
    ctx.deps.db.transaction().execute(async (tx) => {
      const contact = await lockLinkedContact(tx, req.subject);
      if (!contact) return { result: { status: 'unknown' } as const, after: emptyAfterCommit() };
      const lifted = await liftSuppression(tx, contact.email, 'unsubscribed');
      const after = emptyAfterCommit();
      const unsubscribed = contact.unsubscribed_at !== null;
      if (lifted || unsubscribed) {
        await recordConsent(tx, { email: contact.email, contactId: contact.id, kind: 'resubscribed', at, source: 'preferences', ip: req.ip, userAgent: req.userAgent });
      }
      if (unsubscribed) {
        const event = { id: `resubscribe-${contact.id}-${at.getTime()}`, type: 'opt_in', occurredAt: at.toISOString(), contact: { email: contact.email }, data: { source: 'preferences' } };
        const [applied] = await applyEventsIn(tx, ctx.deps, [event], now);
        after.sends.push(...applied!.after.sends);
        after.wakes.push(...applied!.after.wakes);
      }
      return { result: { status: 'resubscribed', email: contact.email, already: !lifted && !unsubscribed } as const, after };
    }),
  { tries: 3 });
  await scheduleOrLeave(ctx, outcome.after, now);
  return outcome.result;
}
