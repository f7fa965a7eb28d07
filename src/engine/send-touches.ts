import type { DateTime } from 'luxon';
import { toContact } from '../db/contact-repository.js';
import { suppressedAmong } from '../db/suppression-repository.js';
import { topicOptOutsOfContacts } from '../db/topic-repository.js';
import { beginSendAttempts, finishSend, lockTouches, markSent, noteCutOff } from '../db/touch-repository.js';
import type { TouchKey } from '../db/touch-repository.js';
import { retryTransient } from '../db/transient.js';
import { mayReceive } from '../sequences/stage.js';
import { listUnsubscribeHeaders } from '../templates/list-unsubscribe.js';
import type { MailSender, OutgoingMail } from '../templates/mail-sender.js';
import { PermanentSendError, TransientSendError } from '../templates/mail-sender.js';
import { isConfirmationTouch } from './confirmation-mail.js';
import type { EngineDeps } from './engine-deps.js';
import { templateOfVersion } from './published-templates.js';
import { renderTouch } from './render-touch.js';
import type { SendOutcome } from './send-touch.js';
import { emailVersion, messageIdFor, recordHardBounce, sendTouch } from './send-touch.js';

/**
 * One touch's outcome in a batch: what sendTouch would return, or what it would throw (a retry).
 * `unrecorded`: what the server said could not be written (the database failed after the send
 * returned); the touch is left `sending`, in doubt as after a crash, for the caller to log and count.
 */
export type BatchSendOutcome = ({ ok: SendOutcome } | { error: unknown }) & { unrecorded?: unknown };

export interface SendTouchesOptions {
  /** Called once the touches are claimed and the first message may go out: from then on nothing is safe to try again at once. */
  onSendPhase?: () => void;
  /** Tries of the batch's one `sent` UPDATE on a transient database error before each touch is marked alone (default 3). */
  markTries?: number;
  /** Wait before the second try of that UPDATE, doubled each time (default 100 ms). */
  markFirstDelayMs?: number;
}

/**
 * Sends many email touches with a few statements for the whole batch: one transaction locks
 * them, reads their contacts, enrollments, suppressions and topic opt-outs in one query each,
 * renders them and marks them all `sending` in one UPDATE; the messages then go out together
 * over the mail sender (a pooled transport bounds how many are in flight, and its rate), and the
 * accepted ones are marked `sent` in one UPDATE. A touch the batch does not plainly send (a
 * confirmation, a paused or ended enrollment, a suppressed or unreachable address, a topic left,
 * already handled) goes through sendTouch alone, which decides and records why. A refusal is
 * recorded as sendTouch records one (a hard bounce suppresses the address).
 * Once the first message may have gone out this never throws for the batch: a result that cannot
 * be written is said in that touch's `unrecorded` and the touch left `sending` (in doubt).
 */
export async function sendTouches(deps: EngineDeps, mail: MailSender, touchIds: readonly string[], now: DateTime, opts: SendTouchesOptions = {}): Promise<BatchSendOutcome[]> {
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
    const ready: { id: string; at: string; mail: OutgoingMail; inDoubt: boolean; email: string }[] = [];
    const attempts: (TouchKey & { messageId: string; subject: string })[] = [];
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
      const headers = listUnsubscribeHeaders(rendered.links.unsubscribe, deps.config.unsubscribeMailto);
      attempts.push({ id: touch.id, at: touch.key_at, messageId, subject: rendered.subject });
      ready.push({
        id: touch.id,
        at: touch.key_at,
        email: contact.email,
        inDoubt: false,
        mail: { from: deps.config.from, to: contact.email, subject: rendered.subject, html: rendered.html, text: rendered.text, messageId, headers },
      });
    }
    const doubts = await beginSendAttempts(tx, attempts);
    for (const r of ready) r.inDoubt = doubts.get(r.id) ?? false;
    return ready;
  });

  // From here on mail goes out: nothing below may throw for the batch, or a caller retrying the
  // touches would find them `sending` and send them again. Each touch's result is its own.
  opts.onSendPhase?.();
  const outcomes = new Map<string, BatchSendOutcome>();
  const sent: TouchKey[] = [];
  await Promise.all(
    prepared.map(async (p) => {
      try {
        await mail.send(p.mail);
      } catch (err) {
        outcomes.set(p.id, await recordRefusal(deps, p, err, now));
        return;
      }
      sent.push(p);
      outcomes.set(p.id, { ok: { status: 'sent', messageId: p.mail.messageId, inDoubt: p.inDoubt } });
    }),
  );
  for (const [id, err] of await recordSent(deps, sent, now, opts)) outcomes.set(id, { ...outcomes.get(id)!, unrecorded: err });
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

/** What a refusal means for the touch, recorded; a failure to record it leaves the touch `sending` (the retry asks the server again). */
async function recordRefusal(deps: EngineDeps, p: { id: string; email: string; mail: OutgoingMail }, err: unknown, now: DateTime): Promise<BatchSendOutcome> {
  try {
    if (err instanceof PermanentSendError && err.recipientRefused) {
      return { ok: await recordHardBounce(deps, { touchId: p.id, email: p.email, messageId: p.mail.messageId, reason: err.message }, now) };
    }
    if (err instanceof PermanentSendError) {
      await finishSend(deps.db, p.id, { status: 'failed', error: err.message });
      return { ok: { status: 'failed', reason: err.message } };
    }
    // Cut off on its way: left `sending`, so the retry is counted in doubt, as after a crash.
    if (err instanceof TransientSendError && err.mayHaveArrived) {
      await noteCutOff(deps.db, p.id, err.message);
      return { error: err };
    }
    // Refused before acceptance: not in doubt; the job retries with backoff.
    await finishSend(deps.db, p.id, { status: 'pending', error: (err as Error).message });
    return { error: err };
  } catch (recordError) {
    return { error: err, unrecorded: recordError };
  }
}

/**
 * Marks the accepted touches `sent`: one UPDATE, tried again on a transient database error; if
 * it still fails, each touch alone, so one row at fault does not leave the others unrecorded. A
 * touch the UPDATE did not find by its key (it cannot happen while the key is what the lock read,
 * but a touch left `sending` would be sent again) is marked by its id alone too.
 * Returns the touches that could not be marked, with why.
 */
async function recordSent(deps: EngineDeps, keys: readonly TouchKey[], now: DateTime, opts: SendTouchesOptions): Promise<Map<string, unknown>> {
  const failed = new Map<string, unknown>();
  if (keys.length === 0) return failed;
  let alone: readonly TouchKey[] = keys;
  try {
    const marked = await retryTransient(() => markSent(deps.db, keys, now.toJSDate()), { tries: opts.markTries ?? 3, firstDelayMs: opts.markFirstDelayMs ?? 100 });
    alone = keys.filter((k) => !marked.has(k.id));
  } catch {
    // Said per touch below, where it is known which ones stay unrecorded.
  }
  for (const { id } of alone) {
    try {
      await finishSend(deps.db, id, { status: 'sent', at: now.toJSDate() });
    } catch (err) {
      failed.set(id, err);
    }
  }
  return failed;
}
