import type { DateTime } from 'luxon';
import { z } from 'zod';
import { recordConsent } from '../db/consent-repository.js';
import type { PendingOptInRow } from '../db/pending-opt-in-repository.js';
import { expireOne, lockPendingOptIn, markConfirmed } from '../db/pending-opt-in-repository.js';
import { cancelUnsentEmail } from '../db/touch-repository.js';
import { NotFoundError, StoredDataError, TokenError } from '../errors.js';
import { contactSchema } from '../sequences/event.js';
import type { NurtureEvent } from '../sequences/event.js';
import type { AppContext } from './context.js';
import type { EventIntake } from './event-intake.js';
import { confirmedEventId } from './submit-form.js';

export interface ConfirmContext {
  app: AppContext;
  intake: EventIntake;
}

/** `confirmed` now, or `already` (a second click: nothing changes); `expired`: too late, opt in again. */
export type ConfirmOutcome = { status: 'confirmed' | 'already' | 'expired'; formId: string };

/** The pending opt-in a confirmation link names; a link that does not verify changes nothing. */
export function pendingIdOfToken(ctx: Pick<AppContext, 'deps'>, token: string): string {
  const id = ctx.deps.links.signer.verify('confirm', token);
  if (!id || !/^[0-9a-f-]{36}$/.test(id)) throw new TokenError('this confirmation link is not valid: it was altered or cut short; use the link in the email as it is');
  return id;
}

const storedData = z.record(z.string(), z.unknown());

function optInEventOf(p: PendingOptInRow, at: Date): NurtureEvent {
  const contact = contactSchema.safeParse(p.contact);
  if (!contact.success) throw new StoredDataError(`pending opt-in ${p.id}`, 'contact', z.prettifyError(contact.error));
  const data = storedData.safeParse(p.data);
  if (!data.success) throw new StoredDataError(`pending opt-in ${p.id}`, 'data', z.prettifyError(data.error));
  return { id: confirmedEventId(p.id), type: 'opt_in', occurredAt: at.toISOString(), contact: contact.data, data: data.data };
}

/**
 * The person clicked the button behind the link in their confirmation email: the pending opt-in
 * is confirmed, the confirmation recorded (with the IP and user agent of the click), and the
 * opt_in event handed to the intake, so nurture starts now and not before. A second click hands
 * the same event again (same id: the engine applies it once), which also finishes a first click
 * whose hand-over failed.
 */
export async function confirmOptIn(ctx: ConfirmContext, o: { token: string; ip: string | undefined; userAgent: string | undefined; now: DateTime }): Promise<ConfirmOutcome> {
  const id = pendingIdOfToken(ctx.app, o.token);
  const now = o.now.toJSDate();
  const decided = await ctx.app.deps.db.transaction().execute(async (tx) => {
    const p = await lockPendingOptIn(tx, id);
    if (!p) throw new NotFoundError('this confirmation link is for a sign-up that no longer exists: please sign up again');
    if (p.status === 'confirmed') return { outcome: 'already' as const, p };
    if (p.status === 'expired') return { outcome: 'expired' as const, p };
    const email = (p.contact as { email?: unknown }).email;
    const consent = { email: typeof email === 'string' ? email : '', contactId: p.contact_id, source: 'form', formId: p.form_id, formVersion: p.form_version };
    if (p.expires_at.getTime() <= now.getTime()) {
      await expireOne(tx, p.id, now);
      if (p.touch_id) await cancelUnsentEmail(tx, p.touch_id, 'opt-in expired unconfirmed');
      await recordConsent(tx, { ...consent, kind: 'expired', at: now, eventId: `expired-${p.id}`, detail: { pendingOptIn: p.id, expiresAt: p.expires_at.toISOString() } });
      return { outcome: 'expired' as const, p };
    }
    await markConfirmed(tx, p.id, now);
    const event = optInEventOf(p, now);
    await recordConsent(tx, {
      ...consent,
      kind: 'confirmed',
      at: now,
      ip: o.ip,
      userAgent: o.userAgent,
      wording: p.wording,
      wordingHash: p.wording_hash,
      eventId: event.id,
      detail: { pendingOptIn: p.id, submittedAt: p.created_at.toISOString() },
    });
    return { outcome: 'confirmed' as const, p: { ...p, confirmed_at: now } };
  });
  if (decided.outcome === 'expired') return { status: 'expired', formId: decided.p.form_id };
  await ctx.intake.accept([optInEventOf(decided.p, decided.p.confirmed_at!)]);
  return { status: decided.outcome, formId: decided.p.form_id };
}
