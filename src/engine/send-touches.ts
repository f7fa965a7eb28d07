import type { DateTime } from 'luxon';
import { toContact } from '../db/contact-repository.js';
import { suppressedAmong } from '../db/suppression-repository.js';
import { topicOptOutsOfContacts } from '../db/topic-repository.js';
import { beginSendAttempts, finishSend, lockTouches, markSent } from '../db/touch-repository.js';
import { mayReceive } from '../sequences/stage.js';
import { listUnsubscribeHeaders } from '../templates/list-unsubscribe.js';
import type { MailSender, OutgoingMail } from '../templates/mail-sender.js';
import { PermanentSendError } from '../templates/mail-sender.js';
import { isConfirmationTouch } from './confirmation-mail.js';
import type { EngineDeps } from './engine-deps.js';
import { templateOfVersion } from './published-templates.js';
import { renderTouch } from './render-touch.js';
import type { SendOutcome } from './send-touch.js';
import { emailVersion, messageIdFor, recordHardBounce, sendTouch } from './send-touch.js';

/** One touch's outcome in a batch: what sendTouch would return, or what it would throw (a retry). */
export type BatchSendOutcome = { ok: SendOutcome } | { error: unknown };

/**
 * Sends many email touches with a few statements for the whole batch: one transaction locks
 * them, reads their contacts, enrollments, suppressions and topic opt-outs in one query each,
 * renders them and marks them all `sending` in one UPDATE; the messages then go out together
 * over the mail sender (a pooled transport bounds how many are in flight, and its rate), and the
 * accepted ones are marked `sent` in one UPDATE. A touch the batch does not plainly send (a
 * confirmation, a paused or ended enrollment, a suppressed or unreachable address, a topic left,
 * already handled) goes through sendTouch alone, which decides and records why. A refusal is
 * recorded as sendTouch records one (a hard bounce suppresses the address).
 */
export async function sendTouches(deps: EngineDeps, mail: MailSender, touchIds: readonly string[], now: DateTime): Promise<BatchSendOutcome[]> {
  const ids = [...new Set(touchIds)];
  const prepared = await deps.db.transaction().execute(async (tx) => {
    const touches = await lockTouches(tx, ids);
    const contactIds = [...new Set(touches.map((t) => t.contact_id))];
    const contactRows = contactIds.length ? await tx.selectFrom('contacts').selectAll().where('id', 'in', contactIds).execute() : [];
    const contacts = new Map(contactRows.map((c) => [c.id, toContact(c)]));
    const enrollmentIds = [...new Set(touches.flatMap((t) => (t.enrollment_id ? [t.enrollment_id] : [])))];
    const enrollmentRows = enrollmentIds.length
      ? await tx.selectFrom('enrollments').select(['id', 'status', 'sequence_version', 'held_at']).where('id', 'in', enrollmentIds).execute()
      : [];
    const enrollments = new Map(enrollmentRows.map((e) => [e.id, e]));
    const suppressed = await suppressedAmong(tx, [...contacts.values()].map((c) => c.email));
    const leftTopics = await topicOptOutsOfContacts(tx, contactIds);
    await deps.registry.sync(tx);
    const ready: { id: string; mail: OutgoingMail; inDoubt: boolean; email: string }[] = [];
    const attempts: { id: string; messageId: string; subject: string }[] = [];
    for (const touch of touches) {
      const contact = contacts.get(touch.contact_id);
      const enrollment = touch.enrollment_id ? enrollments.get(touch.enrollment_id) : undefined;
      const plain =
        contact !== undefined &&
        touch.kind === 'email' &&
        touch.template !== null &&
        (touch.status === 'pending' || touch.status === 'sending') &&
        !isConfirmationTouch(touch) &&
        mayReceive(contact, 'email').ok &&
        !contact.pausedAt &&
        !suppressed.has(contact.email.trim().toLowerCase()) &&
        (touch.enrollment_id === null || (enrollment !== undefined && enrollment.status !== 'exited' && enrollment.status !== 'converted' && !enrollment.held_at));
      if (!plain) continue;
      const version = await emailVersion(deps, tx, touch.sequence_id, enrollment?.sequence_version, touch.template!, true);
      const topic = touch.sequence_id && version ? (await deps.registry.version(touch.sequence_id, version, tx))?.definition.topic : undefined;
      if (topic !== undefined && leftTopics.get(contact.id)?.has(topic)) continue;
      const template = await templateOfVersion(deps, tx, { sequenceId: touch.sequence_id, version, name: touch.template! });
      const rendered = await renderTouch(deps, tx, template, { contact, touch, version, now, tracking: true });
      const messageId = touch.message_id ?? messageIdFor(touch.id, deps.config.from);
      const headers = listUnsubscribeHeaders(deps.links.standard({ touchId: touch.id }).unsubscribe, deps.config.unsubscribeMailto);
      attempts.push({ id: touch.id, messageId, subject: rendered.subject });
      ready.push({
        id: touch.id,
        email: contact.email,
        inDoubt: false,
        mail: { from: deps.config.from, to: contact.email, subject: rendered.subject, html: rendered.html, text: rendered.text, messageId, headers },
      });
    }
    const doubts = await beginSendAttempts(tx, attempts);
    for (const r of ready) r.inDoubt = doubts.get(r.id) ?? false;
    return ready;
  });

  const outcomes = new Map<string, BatchSendOutcome>();
  const sent: string[] = [];
  await Promise.all(
    prepared.map(async (p) => {
      try {
        await mail.send(p.mail);
        sent.push(p.id);
        outcomes.set(p.id, { ok: { status: 'sent', messageId: p.mail.messageId, inDoubt: p.inDoubt } });
      } catch (err) {
        if (err instanceof PermanentSendError && err.recipientRefused) {
          outcomes.set(p.id, { ok: await recordHardBounce(deps, { touchId: p.id, email: p.email, messageId: p.mail.messageId, reason: err.message }, now) });
          return;
        }
        if (err instanceof PermanentSendError) {
          await finishSend(deps.db, p.id, { status: 'failed', error: err.message });
          outcomes.set(p.id, { ok: { status: 'failed', reason: err.message } });
          return;
        }
        // Refused before acceptance: not in doubt; the job retries with backoff.
        await finishSend(deps.db, p.id, { status: 'pending', error: (err as Error).message }).catch(() => undefined);
        outcomes.set(p.id, { error: err });
      }
    }),
  );
  await markSent(deps.db, sent, now.toJSDate());
  // Everything not sent above: sendTouch alone, one after another (rare: skips, refusals, confirmations).
  for (const id of ids) {
    if (outcomes.has(id)) continue;
    try {
      outcomes.set(id, { ok: await sendTouch(deps, mail, id, now) });
    } catch (err) {
      outcomes.set(id, { error: err });
    }
  }
  return touchIds.map((id) => outcomes.get(id)!);
}
