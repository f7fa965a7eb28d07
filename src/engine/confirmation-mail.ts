import type { Kysely } from 'kysely';
import type { DateTime } from 'luxon';
import { recordConsent } from '../db/consent-repository.js';
import { pendingOptInOfTouch } from '../db/pending-opt-in-repository.js';
import type { Database } from '../db/schema.js';
import type { Contact } from '../sequences/contact.js';
import { contactSchema } from '../sequences/event.js';
import type { EngineDeps } from './engine-deps.js';

/**
 * A double opt-in's confirmation email is a touch of no enrollment and no sequence, step
 * `confirm`, sent by the send worker like any email (same retries, Message-ID, in-doubt rule).
 * It has its own rule of who may receive it: the person just asked for it, so an old
 * unsubscribe does not stop it (confirming is how they subscribe again); a bounced address, an
 * opt-in already confirmed or expired does.
 */
export const CONFIRM_STEP = 'confirm';
/** Where confirmation links point: `PUBLIC_URL/confirm/TOKEN`. */
export const CONFIRM_ROUTE = 'confirm';

export function isConfirmationTouch(t: { enrollment_id: string | null; sequence_id: string | null; step_id: string }): boolean {
  return t.enrollment_id === null && t.sequence_id === null && t.step_id === CONFIRM_STEP;
}

export interface ConfirmationMail {
  reach: { ok: true } | { ok: false; reason: string };
  pendingId: string | undefined;
  formId: string | undefined;
  formVersion: string | undefined;
  /**
   * Variables the template has beyond the stored contact: the link, and the fields the form
   * gave (the contact row takes them only once the opt-in is confirmed).
   */
  vars: { confirmUrl: string } & Partial<Record<'firstName' | 'lastName' | 'phone', string>>;
}

export async function confirmationMailOf(db: Kysely<Database>, deps: Pick<EngineDeps, 'links'>, touchId: string, contact: Contact, now: DateTime): Promise<ConfirmationMail> {
  const p = await pendingOptInOfTouch(db, touchId);
  const stop = (reason: string): ConfirmationMail => ({ reach: { ok: false, reason }, pendingId: p?.id, formId: p?.form_id, formVersion: p?.form_version, vars: { confirmUrl: '' } });
  if (!p) return stop('its opt-in is gone');
  if (p.status !== 'pending') return stop(`opt-in already ${p.status}`);
  if (p.expires_at.getTime() <= now.toMillis()) return stop('opt-in expired unconfirmed');
  if (contact.bouncedAt) return stop('bounced');
  const given = contactSchema.safeParse(p.contact);
  const named = given.success ? { firstName: given.data.firstName, lastName: given.data.lastName, phone: given.data.phone } : {};
  const fields = Object.fromEntries(Object.entries(named).filter(([, v]) => v !== undefined)) as ConfirmationMail['vars'];
  return { reach: { ok: true }, pendingId: p.id, formId: p.form_id, formVersion: p.form_version, vars: { ...fields, confirmUrl: deps.links.url(CONFIRM_ROUTE, 'confirm', p.id) } };
}

/** The consent history notes each confirmation email that went out. */
export async function recordConfirmationSent(db: Kysely<Database>, m: ConfirmationMail, to: { email: string; contactId: string }, messageId: string, now: DateTime): Promise<void> {
  await recordConsent(db, {
    email: to.email,
    contactId: to.contactId,
    kind: 'confirmation_sent',
    at: now.toJSDate(),
    source: 'form',
    formId: m.formId,
    formVersion: m.formVersion,
    eventId: `confirmation-sent-${messageId}`,
    detail: { pendingOptIn: m.pendingId, messageId },
  });
}
