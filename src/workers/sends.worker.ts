import { UnrecoverableError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import { finishSend } from '../db/touch-repository.js';
import { isTransientDbError } from '../db/transient.js';
import type { BatchSendOutcome } from '../app/send-emails.js';
import { sendEmails } from '../app/send-emails.js';
import { TemplateError } from '../errors.js';
import { Batcher } from './batcher.js';
import type { SendPayload } from './queues.js';
import { SEND_ATTEMPTS, SENDS_QUEUE, sendPayloadSchema } from './queues.js';
import type { WorkerContext } from './worker-context.js';

/**
 * One job per email: the only non-idempotent side effect, isolated so a retry never sends twice.
 * Concurrent jobs are gathered into batches that claim their touches together (see sendEmails);
 * how many messages are in flight and how fast is the pooled transport's to bound
 * (NURTURE_SMTP_MAX_CONNECTIONS, NURTURE_SMTP_RATE_PER_SECOND).
 */
export function startSendsWorker(ctx: WorkerContext): Worker {
  const batcher = new Batcher<string, BatchSendOutcome>((ids, run) => sendEmails(ctx.app, ctx.mail, ids, ctx.clock(), { onSendPhase: () => run.sideEffectsBegun() }), Math.max(1, Math.min(ctx.concurrency.sends, ctx.sendBatch)), 2);
  const process = async (job: Job<SendPayload>): Promise<string> => {
    const payload = sendPayloadSchema.safeParse(job.data);
    if (!payload.success) throw new UnrecoverableError(`malformed send job ${job.id}: ${payload.error.issues[0]?.message}`);
    const { touchId, correlationId } = payload.data;
    const log = ctx.log.child({ touchId, ...(correlationId ? { correlationId } : {}) });
    try {
      const outcome = await batcher.submit(touchId);
      if (outcome.unrecorded !== undefined) {
        // Left `sending`: the sweeper offers it again later and it goes out in doubt, as after a crash.
        ctx.metrics.serviceError('database');
        log.error(
          { err: outcome.unrecorded instanceof Error ? outcome.unrecorded.message : String(outcome.unrecorded), ...('ok' in outcome && outcome.ok.status === 'sent' ? { messageId: outcome.ok.messageId } : {}) },
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
      return r.status;
    } catch (err) {
      if (err instanceof TemplateError) {
        ctx.metrics.send('failed');
        await finishSend(ctx.deps.db, touchId, { status: 'failed', error: err.message });
        throw new UnrecoverableError(err.message);
      }
      ctx.metrics.serviceError(isTransientDbError(err) ? 'database' : 'smtp');
      const last = job.attemptsMade + 1 >= (job.opts.attempts ?? SEND_ATTEMPTS);
      ctx.metrics.send(last ? 'failed' : 'retry');
      if (last) {
        await finishSend(ctx.deps.db, touchId, { status: 'failed', error: `gave up after ${job.attemptsMade + 1} attempts: ${(err as Error).message}` });
      }
      throw err;
    }
  };
  return new Worker(SENDS_QUEUE, process, ctx.workerOptions(ctx.concurrency.sends));
}
