import { randomUUID } from 'node:crypto';
import type { DateTime } from 'luxon';
import { recordConsent } from '../db/consent-repository.js';
import { ensureContactRow, findContactByEmail } from '../db/contact-repository.js';
import { insertPendingOptIn, recentPendingOptIn, setPendingTouch } from '../db/pending-opt-in-repository.js';
import { insertTouches } from '../db/touch-repository.js';
import { CONFIRM_STEP } from '../engine/confirmation-mail.js';
import { FieldError, ForbiddenError } from '../errors.js';
import type { FormDefinition } from '../forms/form-config.js';
import { checkOrigin, formOptInEvent, readSubmission } from '../forms/submission.js';
import { addDuration } from '../sequences/time-rules.js';
import type { DurationSpec } from '../sequences/time-types.js';
import type { AppContext } from './context.js';
import type { EventIntake } from './event-intake.js';
import { scheduleOrLeave } from './scheduler.js';

export interface FormsContext {
  app: AppContext;
  intake: EventIntake;
  /** NURTURE_CONFIRM_EXPIRY: how long a confirmation link stays good unless the form says. */
  confirmExpiry: DurationSpec;
}

export interface FormPost {
  form: FormDefinition;
  body: Record<string, unknown>;
  headers: { origin?: string | undefined; referer?: string | undefined };
  ip: string | undefined;
  userAgent: string | undefined;
  now: DateTime;
}

/**
 * `accepted`: an opt_in event was handed to the intake. `confirmation_sent`: a confirmation
 * email is on its way (or one was sent a moment ago). `ignored`: a bot filled the honeypot;
 * it is answered exactly like a person, so it learns nothing.
 */
export type FormOutcome = { status: 'accepted' | 'confirmation_sent' | 'ignored'; doubleOptIn: boolean };

/** One confirmation email per address and form in this time, however often the form is sent. */
export const RESEND_AFTER_MS = 15 * 60_000;

/**
 * A form post: checked (origin, fields), then either an opt_in event for the engine (single
 * opt-in) or a pending opt-in and its confirmation email (double opt-in). Either way the consent
 * given is recorded first, with the form's version, the wording, the IP and the user agent.
 */
export async function submitForm(ctx: FormsContext, p: FormPost): Promise<FormOutcome> {
  const { form } = p;
  const origin = checkOrigin(form, p.headers);
  if (!origin.ok) throw new ForbiddenError(origin.reason);
  const read = readSubmission(form, p.body);
  if (!read.ok) throw new FieldError(read.field, read.message);
  const doubleOptIn = form.doubleOptIn !== undefined;
  if (read.honeypot) {
    ctx.app.log.info({ form: form.id, ip: p.ip }, 'form post with its honeypot filled: ignored (answered as accepted)');
    return { status: 'ignored', doubleOptIn };
  }
  const at = p.now.toUTC();
  const consent = {
    email: read.contact.email,
    kind: 'opt_in' as const,
    at: at.toJSDate(),
    source: 'form',
    formId: form.id,
    formVersion: form.version,
    ip: p.ip,
    userAgent: p.userAgent,
    wording: form.consent,
    wordingHash: form.consentHash,
  };
  const db = ctx.app.deps.db;

  if (!form.doubleOptIn) {
    const event = formOptInEvent({ id: `form-${form.id}-${randomUUID()}`, form, contact: read.contact, at: at.toISO()!, confirmed: false });
    const contact = await findContactByEmail(db, read.contact.email);
    await recordConsent(db, { ...consent, contactId: contact?.id ?? null, eventId: event.id, detail: { doubleOptIn: false } });
    await ctx.intake.accept([event]);
    return { status: 'accepted', doubleOptIn };
  }

  const expires = addDuration(at, form.doubleOptIn.expires ?? ctx.confirmExpiry, { zone: 'UTC', holidays: new Set() });
  const template = form.doubleOptIn.template;
  const touch = await db.transaction().execute(async (tx) => {
    const contact = await ensureContactRow(tx, read.contact.email);
    // The same address sent twice in a row (a double click, an impatient person) gets one email.
    if (await recentPendingOptIn(tx, contact.id, form.id, new Date(at.toMillis() - RESEND_AFTER_MS))) return undefined;
    const pendingId = await insertPendingOptIn(tx, {
      contactId: contact.id,
      formId: form.id,
      formVersion: form.version,
      contact: read.contact,
      data: formOptInEvent({ id: '', form, contact: read.contact, at: at.toISO()!, confirmed: true }).data,
      ip: p.ip,
      userAgent: p.userAgent,
      wording: form.consent,
      wordingHash: form.consentHash,
      createdAt: at.toJSDate(),
      expiresAt: expires.toJSDate(),
    });
    const touchId = randomUUID();
    await insertTouches(tx, [
      { id: touchId, key: `confirm/${pendingId}`, enrollment_id: null, contact_id: contact.id, sequence_id: null, step_id: CONFIRM_STEP, kind: 'email', template, status: 'pending', subject: null, due_at: at.toJSDate() },
    ]);
    await setPendingTouch(tx, pendingId, touchId);
    // The opt-in the engine applies once confirmed carries this id: this record (with the wording) is the one kept.
    await recordConsent(tx, { ...consent, contactId: contact.id, eventId: confirmedEventId(pendingId), detail: { doubleOptIn: 'pending', pendingOptIn: pendingId, expiresAt: expires.toISO() } });
    return { touchId };
  });
  if (touch) await scheduleOrLeave(ctx.app, { sends: [{ touchId: touch.touchId, at: at.toJSDate() }], wakes: [] }, at);
  return { status: 'confirmation_sent', doubleOptIn };
}

/** The id of the opt_in event a confirmed double opt-in becomes: one per pending opt-in, so a second click is a duplicate. */
export function confirmedEventId(pendingId: string): string {
  return `form-confirmed-${pendingId}`;
}
