import { Worker } from 'bullmq';
import type { Job } from 'bullmq';
import { finishSend } from '../db/touch-repository.js';
import { isTransientDbError } from '../db/transient.js';
import type { BatchSendOutcome } from '../app/send-emails.js';
import { sendEmails } from '../app/send-emails.js';
import { TemplateError, messageOf } from '../errors.js';
import { TransientSendError } from '../templates/mail-sender.js';
import { Batcher } from './batcher.js';
import type { SendPayload } from './queues.js';
import { SEND_ATTEMPTS, SEND_BATCH_JOB, SEND_JOB, SENDS_QUEUE, sendBatchPayloadSchema, sendMemberId, sendPayloadSchema } from './queues.js';
import type { Settled } from './batch-job.js';
import { runItemJob } from './batch-job.js';
import type { ItemGate } from './item-gate.js';
import type { WorkerContext } from './worker-context.js';

/**
 * Sends email touches: the only non-idempotent side effect, so an email is claimed (`sending`)
 * before it goes out and a retry never sends twice. A job carries up to NURTURE_SEND_BATCH emails
 * (the one-email jobs of earlier releases still run); what several jobs carry is gathered into
 * batches that claim their touches together (see sendEmails), and at most
 * NURTURE_SEND_CONCURRENCY emails are in flight however they are spread over jobs. How many
 * messages are on the wire and how fast is the pooled transport's to bound
 * (NURTURE_SMTP_MAX_CONNECTIONS, NURTURE_SMTP_RATE_PER_SECOND). A job whose emails partly failed keeps only those and is tried
 * again with backoff; at its last try they are marked failed (those whose outcome could not be
 * recorded stay as they were, for the sweeper to offer again).
 */
export function startSendsWorker(ctx: WorkerContext, gate: ItemGate): Worker {
  const batcher = new Batcher<string, BatchSendOutcome>((ids, run) => sendEmails(ctx.app, ctx.mail, ids, ctx.clock(), { onSendPhase: () => run.sideEffectsBegun() }), Math.max(1, Math.min(ctx.concurrency.sends, ctx.sendBatch)), 2);

  const runOne = async (p: SendPayload, job: Job): Promise<Settled> => {
    const log = ctx.log.child({ touchId: p.touchId, ...(p.correlationId ? { correlationId: p.correlationId } : {}) });
    try {
      return await sendOne(p, job, log);
    } catch (err) {
      // Recording the outcome failed (the database went away): this email is tried again, the others stand.
      ctx.metrics.serviceError(isTransientDbError(err) ? 'database' : 'smtp');
      log.error({ err: messageOf(err) }, 'could not record what became of an email; it is tried again');
      return { done: false, error: err };
    }
  };

  const sendOne = async (p: SendPayload, job: Job, log: WorkerContext['log']): Promise<Settled> => {
    const { touchId } = p;
    try {
      const outcome = await batcher.submit(touchId);
      if (outcome.unrecorded !== undefined) {
        // Left `sending`: the sweeper offers it again later and it goes out in doubt, as after a crash.
        ctx.metrics.serviceError('database');
        log.error(
          { err: messageOf(outcome.unrecorded), ...('ok' in outcome && outcome.ok.status === 'sent' ? { messageId: outcome.ok.messageId } : {}) },
          'could not record the result of a send; the email is left in doubt',
        );
      }
      if ('error' in outcome) throw outcome.error;
      const r = outcome.ok;
      ctx.metrics.send(r.status, { inDoubt: r.status === 'sent' && r.inDoubt });
      if (r.status === 'sent' && r.inDoubt) log.warn({ messageId: r.messageId }, 'resent a message whose first attempt was cut off (in doubt)');
      else if (r.status === 'sent') log.info({ messageId: r.messageId }, 'email sent');
      if (r.status === 'failed') {
        ctx.metrics.serviceError('smtp');
        log.error({ reason: r.reason }, 'email failed permanently');
      }
      if (r.status === 'bounced') log.warn({ reason: r.reason }, 'address refused (hard bounce): suppressed, the contact gets no more email');
      return { done: true };
    } catch (err) {
      if (err instanceof TemplateError) {
        ctx.metrics.send('failed');
        log.error({ err: err.message }, 'email failed: its template does not render');
        await finishSend(ctx.deps.db, touchId, { status: 'failed', error: err.message });
        return { done: true };
      }
      ctx.metrics.serviceError(isTransientDbError(err) ? 'database' : 'smtp');
      const tries = job.attemptsMade + 1;
      const last = tries >= (job.opts.attempts ?? SEND_ATTEMPTS);
      ctx.metrics.send(last ? 'failed' : 'retry');
      if (!last) return { done: false, error: err };
      // The last attempt's message may have reached the server before its thread died: say so.
      const maybe = err instanceof TransientSendError && err.mayHaveArrived ? ' (the last attempt may have arrived)' : '';
      const error = `gave up after ${tries} attempts: ${messageOf(err)}${maybe}`;
      log.error({ err: error }, 'email failed permanently');
      await finishSend(ctx.deps.db, touchId, { status: 'failed', error });
      return { done: true };
    }
  };

  const kind = {
    batchName: SEND_BATCH_JOB,
    oneName: SEND_JOB,
    field: 'sends' as const,
    one: sendPayloadSchema,
    batch: sendBatchPayloadSchema,
    noun: 'send',
    member: sendMemberId,
    queue: ctx.queues.sends,
    gate,
    run: runOne,
    retryText: (again: number, of: number) => `${again} of ${of} emails not sent yet`,
  };
  return new Worker(SENDS_QUEUE, (job: Job) => runItemJob(job, kind), ctx.workerOptions(ctx.concurrency.sends));
}
