import type { DateTime } from 'luxon';
import { toContact } from '../db/contact-repository.js';
import { suppress, suppressionsOf } from '../db/suppression-repository.js';
import type { Suppression } from '../db/suppression-repository.js';
import { hasLeftTopic } from '../db/topic-repository.js';
import { noticeEvent } from '../sequences/bounce.js';
import { applyEvent } from './apply-event.js';
import type { AfterCommit } from './engine-deps.js';
import { beginSendAttempt, finishSend, lockTouch, noteCutOff } from '../db/touch-repository.js';
import { mayReceive } from '../sequences/stage.js';
import type { MailSender } from '../templates/mail-sender.js';
import { PermanentSendError, TransientSendError } from '../templates/mail-sender.js';
import { listUnsubscribeHeaders } from '../templates/list-unsubscribe.js';
import type { EngineDeps } from './engine-deps.js';
import { confirmationMailOf, isConfirmationTouch, recordConfirmationSent } from './confirmation-mail.js';
import { templateOfVersion } from './published-templates.js';
import { renderTouch } from './render-touch.js';
import { messageIdDomain } from '../templates/message-id.js';

export type SendOutcome =
  | { status: 'sent'; messageId: string; inDoubt: boolean }
  | { status: 'skipped'; reason: string }
  | { status: 'failed'; reason: string }
  /** The server refused the address itself: suppressed (`hard_bounce`) and the contact bounced; `after` is the follow-up work of that. */
  | { status: 'bounced'; reason: string; after: AfterCommit };

/** Message-IDs are derived from the touch, so a retried send carries the same one. */
export function messageIdFor(touchId: string, from: string): string {
  return `touch-${touchId}@${messageIdDomain(from)}`;
}

/**
 * Sends one email touch: one job, one non-idempotent side effect. The attempt is committed as
 * `sending` before the SMTP conversation, so a process killed mid-send is seen on retry and the
 * message goes out again with the same Message-ID, counted as in doubt.
 */
export async function sendTouch(deps: EngineDeps, mail: MailSender, touchId: string, now: DateTime): Promise<SendOutcome> {
  const prepared = await deps.db.transaction().execute(async (tx) => {
    const touch = await lockTouch(tx, touchId);
    if (!touch) return { skip: 'touch not found' } as const;
    if (touch.kind !== 'email') return { skip: `touch is a ${touch.kind}` } as const;
    if (touch.status !== 'pending' && touch.status !== 'sending') return { skip: `already ${touch.status}` } as const;
    const contactRow = await tx.selectFrom('contacts').selectAll().where('id', '=', touch.contact_id).executeTakeFirstOrThrow();
    const contact = toContact(contactRow);
    const confirmation = isConfirmationTouch(touch) ? await confirmationMailOf(tx, deps, touch.id, contact, now) : undefined;
    const reach = confirmation ? confirmation.reach : mayReceive(contact, 'email');
    const stop = reach.ok ? null : reach.reason;
    const enrollment = touch.enrollment_id
      ? await tx.selectFrom('enrollments').select(['status', 'exit_reason', 'sequence_version', 'held_at']).where('id', '=', touch.enrollment_id).executeTakeFirst()
      : undefined;
    const ended = enrollment && (enrollment.status === 'exited' || enrollment.status === 'converted') ? `enrollment ${enrollment.exit_reason ?? enrollment.status}` : null;
    // An operator's pause holds the email (never cancels it): it goes out after the resume.
    if (contact.pausedAt || enrollment?.held_at) {
      await finishSend(tx, touchId, { status: 'held', error: contact.pausedAt ? 'held: the contact is paused' : 'held: its enrollment is paused' });
      return { skip: contact.pausedAt ? 'contact paused' : 'enrollment held' } as const;
    }
    // The suppression list is keyed by the address: it holds for every contact that ever has it
    // (an erased contact's address that opts in again as a new contact is still refused).
    // A confirmation email answers a fresh request to subscribe: an old unsubscribe does not stop it (a bounce, a complaint or an erase does).
    const suppressions = stop || ended ? [] : (await suppressionsOf(tx, contact.email)).filter((x) => !confirmation || x.reason !== 'unsubscribed');
    const suppressed = suppressedReason(suppressions);
    if (stop || ended || suppressed) {
      const reason = stop ?? ended ?? suppressed!;
      await finishSend(tx, touchId, { status: 'cancelled', error: reason });
      return { skip: reason } as const;
    }
    const version = await emailVersion(deps, tx, touch.sequence_id, enrollment?.sequence_version, touch.template!);
    const topic = touch.sequence_id && version ? (await deps.registry.version(touch.sequence_id, version, tx))?.definition.topic : undefined;
    if (topic !== undefined && (await hasLeftTopic(tx, contact.id, topic))) {
      const reason = `the contact unsubscribed from topic "${topic}"`;
      await finishSend(tx, touchId, { status: 'cancelled', error: reason });
      return { skip: reason } as const;
    }
    const template = await templateOfVersion(deps, tx, { sequenceId: touch.sequence_id, version, name: touch.template! });
    const rendered = await renderTouch(deps, tx, template, { contact, touch, version, now, extra: confirmation?.vars, tracking: !confirmation });
    const messageId = touch.message_id ?? messageIdFor(touch.id, deps.config.from);
    const { inDoubt } = await beginSendAttempt(tx, touchId, messageId, rendered.subject);
    const headers = listUnsubscribeHeaders(rendered.links.unsubscribe, deps.config.unsubscribeMailto);
    return { to: contact.email, contactId: contact.id, rendered, messageId, inDoubt, headers, confirmation } as const;
  });
  if ('skip' in prepared) return { status: 'skipped', reason: prepared.skip! };

  try {
    await mail.send({
      from: deps.config.from,
      to: prepared.to,
      subject: prepared.rendered.subject,
      html: prepared.rendered.html,
      text: prepared.rendered.text,
      messageId: prepared.messageId,
      headers: prepared.headers,
    });
  } catch (err) {
    if (err instanceof PermanentSendError && err.recipientRefused) {
      return recordHardBounce(deps, { touchId, email: prepared.to, messageId: prepared.messageId, reason: err.message }, now);
    }
    if (err instanceof PermanentSendError) {
      await finishSend(deps.db, touchId, { status: 'failed', error: err.message });
      return { status: 'failed', reason: err.message };
    }
    // Cut off on its way: left `sending`, so the retry is counted in doubt, as after a crash.
    if (err instanceof TransientSendError && err.mayHaveArrived) {
      await noteCutOff(deps.db, touchId, err.message);
      throw err;
    }
    // Refused before acceptance: not in doubt; the job retries with backoff.
    await finishSend(deps.db, touchId, { status: 'pending', error: (err as Error).message });
    throw err;
  }
  await finishSend(deps.db, touchId, { status: 'sent', at: now.toJSDate() });
  if (prepared.confirmation) await recordConfirmationSent(deps.db, prepared.confirmation, { email: prepared.to, contactId: prepared.contactId }, prepared.messageId, now);
  return { status: 'sent', messageId: prepared.messageId, inDoubt: prepared.inDoubt };
}

/** Why a suppressed address gets no email, in words for `contacts show`; null when it may be mailed. */
function suppressedReason(list: readonly Suppression[]): string | null {
  if (list.length === 0) return null;
  return `suppressed: ${list.map((s) => `${s.reason.replace('_', ' ')} (${s.source}, ${s.at.toISOString()})`).join(', ')}`;
}

/**
 * A refused address, in one transaction: the touch failed, the address on the suppression list,
 * and a `bounced` event applied to the contact as any bounce is (bounced_at, a stage change, its
 * unsent emails cancelled), so no email of any sequence goes to it again. A failure here leaves
 * the touch `sending`: the job's retry asks the server again and gets the same answer.
 */
export async function recordHardBounce(deps: EngineDeps, b: { touchId: string; email: string; messageId: string; reason: string }, now: DateTime): Promise<SendOutcome> {
  const notice = { kind: 'bounce', bounceType: 'hard', source: 'smtp', noticeId: b.touchId, reason: b.reason, occurredAt: now.toUTC().toISO()!, messageRef: b.messageId } as const;
  const applied = await applyEvent(deps, noticeEvent(notice, b.email), now, async (tx) => {
    await finishSend(tx, b.touchId, { status: 'failed', error: `hard bounce: ${b.reason}` });
    await suppress(tx, { email: b.email, reason: 'hard_bounce', source: 'smtp', detail: b.reason, at: now.toJSDate() });
  });
  return { status: 'bounced', reason: b.reason, after: applied.after };
}

/**
 * The sequence version whose template an unsent email is rendered with. Contacts of a sequence
 * whose live version says `on_edit: migrate` move to it, so their emails not yet sent go out as
 * the live version has them (a fixed template reaches them); `stay` keeps their own version.
 */
export async function emailVersion(
  deps: EngineDeps,
  tx: Parameters<EngineDeps['registry']['sync']>[0],
  sequenceId: string | null,
  own: string | undefined,
  template: string,
  /** The caller synced the live set in `tx` already (a batch syncs once). */
  synced = false,
): Promise<string | undefined> {
  if (!sequenceId) return own;
  if (!synced) await deps.registry.sync(tx);
  const live = deps.registry.activeProgram(sequenceId);
  const moves = live && live.version !== own && live.definition.on_edit === 'migrate';
  return moves && live.instructions.some((i) => i.op === 'email' && i.template === template) ? live.version : own;
}
