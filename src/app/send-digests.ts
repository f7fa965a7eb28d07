import { createHash } from 'node:crypto';
import type { DateTime } from 'luxon';
import { claimDigest, digestKey, digestsRecorded, openTasksForDigest } from '../db/staff-digest-repository.js';
import { digestMessage, digestSlot } from '../staff/digest.js';
import type { MailSender } from '../templates/mail-sender.js';
import { PermanentSendError } from '../templates/mail-sender.js';
import type { AppContext } from './context.js';
import { messageIdDomain } from '../templates/message-id.js';

export interface DigestOutcome {
  email: string;
  localDate: string;
  /** sent; empty: nothing due, recorded without an email; refused: the server refused the address (not retried that day). */
  status: 'sent' | 'empty' | 'refused';
  tasks: number;
}

/**
 * Sends each staff user their daily digest once their working day has started in their own zone:
 * their open tasks due by the end of the day and the overdue ones, with the unclaimed tasks of
 * their teams' queues. Once per user and local day, whichever process gets there first: the
 * staff_digests row is claimed in the transaction that sends, so a second process waits for it
 * and then finds it taken, and a failed send rolls the claim back for the next round to retry.
 * Users whose digest fails are logged and left for the next round; the others still go.
 */
export async function sendDigests(ctx: AppContext, mail: MailSender, now: DateTime): Promise<DigestOutcome[]> {
  const dir = ctx.staff;
  if (!dir) return [];
  const { db, config } = ctx.deps;
  const domain = messageIdDomain(config.from);
  const out: DigestOutcome[] = [];
  // Every user whose day has started, then one query for which of them are done: rounds run all day.
  const due = dir.users.flatMap((user) => {
    const slot = digestSlot(dir, user, now);
    return slot ? [{ user, slot }] : [];
  });
  const done = await digestsRecorded(db, due.map((d) => ({ email: d.user.email, localDate: d.slot.localDate })));
  for (const { user, slot } of due) {
    if (done.has(digestKey(user.email, slot.localDate))) continue;
    try {
      const r = await db.transaction().execute(async (tx) => {
        const tasks = await openTasksForDigest(tx, user.email, user.teams, slot.dayEnd);
        if (!(await claimDigest(tx, user.email, slot.localDate, tasks.length, now.toJSDate()))) return undefined;
        const base = { email: user.email, localDate: slot.localDate, tasks: tasks.length };
        if (tasks.length === 0) return { ...base, status: 'empty' as const };
        const m = digestMessage(user, slot, tasks, now);
        try {
          await mail.send({
            from: config.from,
            to: user.email,
            subject: m.subject,
            text: m.text,
            html: m.html,
            // The same id for the same digest: a copy sent again after a crash is recognisable.
            messageId: `digest-${slot.localDate}-${createHash('sha256').update(user.email).digest('hex').slice(0, 16)}@${domain}`,
          });
        } catch (err) {
          // Retrying a refused address all day long helps nobody: the claim stays, the log says why.
          if (err instanceof PermanentSendError) {
            ctx.log.warn({ user: user.email, err: err.message }, 'digest refused by the mail server');
            return { ...base, status: 'refused' as const };
          }
          throw err;
        }
        return { ...base, status: 'sent' as const };
      });
      if (r) {
        out.push(r);
        if (r.status === 'sent') ctx.log.info({ user: user.email, localDate: r.localDate, tasks: r.tasks }, 'digest sent');
      }
    } catch (err) {
      ctx.log.warn({ user: user.email, err: (err as Error)?.message ?? String(err) }, 'digest not sent; trying again');
    }
  }
  return out;
}
