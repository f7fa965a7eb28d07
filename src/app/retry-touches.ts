import type { DateTime } from 'luxon';
import type { EngineDeps } from '../engine/engine-deps.js';
import { ConflictError, InputError, NotFoundError } from '../errors.js';
import type { StopReason } from '../sequences/stage.js';
import { mayReceive } from '../sequences/stage.js';
import { iso } from '../queries/durations.js';
import type { Queues } from '../workers/queues.js';
import { queueSendsAround } from '../workers/schedule.js';

export type RetrySelection = { touchId: string } | { allFailed: true };

export interface RetryTouchesResult {
  /** Back to pending and offered to the send queue. */
  retried: { touchId: string; email: string; stepId: string; lastError: string | null }[];
  /** Failed emails left as they are, and why (the contact unsubscribed, the enrollment ended...). */
  skipped: { touchId: string; email: string; reason: string }[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_AT_ONCE = 10_000;

/**
 * Sends failed emails again: each goes back to `pending` (attempt count and error cleared, its
 * Message-ID kept) and is put on the send queue. An email whose contact may no longer receive it
 * (unsubscribed, bounced, a lead) or whose enrollment ended is not retried, and the reason is given.
 */
const STOP_TEXT: Record<StopReason, (stage: string) => string> = {
  unsubscribed: () => 'the contact unsubscribed',
  bounced: () => 'the contact bounced',
  promoted: (stage) => `the contact is a ${stage} (nurture ended)`,
};

export async function retryTouches(deps: Pick<EngineDeps, 'db'>, queues: Queues, sel: RetrySelection, now: DateTime): Promise<RetryTouchesResult> {
  if ('touchId' in sel && !UUID.test(sel.touchId)) throw new InputError(`touch id "${sel.touchId}" is not a touch id (the ids shown by nurture contacts show EMAIL --json)`);
  let q = deps.db
    .selectFrom('touches')
    .innerJoin('contacts', 'contacts.id', 'touches.contact_id')
    .leftJoin('enrollments', 'enrollments.id', 'touches.enrollment_id')
    .select([
      'touches.id',
      'touches.kind',
      'touches.status',
      'touches.step_id',
      'touches.error',
      'touches.due_at',
      'contacts.email',
      'contacts.unsubscribed_at',
      'contacts.bounced_at',
      'contacts.status as contact_status',
      'contacts.paused_at',
      'enrollments.status as enrollment_status',
      'enrollments.exit_reason',
      'enrollments.held_at',
    ]);
  q = 'touchId' in sel ? q.where('touches.id', '=', sel.touchId) : q.where('touches.kind', '=', 'email').where('touches.status', '=', 'failed');
  const rows = await q.orderBy('touches.created_at').limit(MAX_AT_ONCE).execute();
  if ('touchId' in sel) {
    const t = rows[0];
    if (!t) throw new NotFoundError(`no touch with id ${sel.touchId}`);
    if (t.kind !== 'email') throw new ConflictError(`touch ${t.id} is a ${t.kind}, not an email: only emails are sent again`);
    if (t.status !== 'failed') throw new ConflictError(`touch ${t.id} is ${t.status}, not failed: only failed emails are retried`);
  }
  const skipped: RetryTouchesResult['skipped'] = [];
  const candidates = rows.filter((t) => {
    const ended = t.enrollment_status === 'exited' || t.enrollment_status === 'converted' ? `its enrollment ended (${t.exit_reason ?? t.enrollment_status})` : null;
    // The one stop rule of sends, and an operator's pause: a retry never reaches someone a send would not.
    const reach = mayReceive({ status: t.contact_status, unsubscribedAt: iso(t.unsubscribed_at), bouncedAt: iso(t.bounced_at) }, 'email');
    const stop = reach.ok ? null : STOP_TEXT[reach.reason](t.contact_status);
    const held = t.paused_at ? 'the contact is paused (nurture contacts resume first)' : t.held_at ? 'its enrollment is held by a pause (resume it first)' : null;
    const reason = stop ?? held ?? ended;
    if (reason) skipped.push({ touchId: t.id, email: t.email, reason });
    return reason === null;
  });
  if ('touchId' in sel && skipped.length > 0) throw new ConflictError(`touch ${sel.touchId} is not sent again: ${skipped[0]!.reason}`);

  const retried = await queueSendsAround(
    queues,
    candidates.map((t) => ({ touchId: t.id, at: t.due_at })),
    now.toMillis(),
    async () => {
      if (candidates.length === 0) return [];
      return deps.db
        .updateTable('touches')
        .set({ status: 'pending', error: null, attempts: 0 })
        .where('id', 'in', candidates.map((t) => t.id))
        .where('status', '=', 'failed')
        .returning('id')
        .execute();
    },
  );
  const byId = new Map(candidates.map((t) => [t.id, t]));
  return {
    retried: retried.map((r) => ({ touchId: r.id, email: byId.get(r.id)!.email, stepId: byId.get(r.id)!.step_id, lastError: byId.get(r.id)!.error })),
    skipped,
  };
}
