import { UnrecoverableError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import { finishSend } from '../db/touch-repository.js';
import { sendEmail } from '../app/send-email.js';
import { TemplateError } from '../errors.js';
import type { SendPayload } from './queues.js';
import { SEND_ATTEMPTS, SENDS_QUEUE, sendPayloadSchema } from './queues.js';
import type { WorkerContext } from './worker-context.js';

/** One job per email: the only non-idempotent side effect, isolated so a retry never sends twice. */
export function startSendsWorker(ctx: WorkerContext): Worker {
  const process = async (job: Job<SendPayload>): Promise<string> => {
    const payload = sendPayloadSchema.safeParse(job.data);
    if (!payload.success) throw new UnrecoverableError(`malformed send job ${job.id}: ${payload.error.issues[0]?.message}`);
    try {
      const r = await sendEmail(ctx.app, ctx.mail, job.data.touchId, ctx.clock());
      if (r.status === 'sent' && r.inDoubt) ctx.log.warn({ touchId: job.data.touchId, messageId: r.messageId }, 'resent a message whose first attempt was cut off (in doubt)');
      if (r.status === 'failed') ctx.log.error({ touchId: job.data.touchId, reason: r.reason }, 'email failed permanently');
      if (r.status === 'bounced') ctx.log.warn({ touchId: job.data.touchId, reason: r.reason }, 'address refused (hard bounce): suppressed, the contact gets no more email');
      return r.status;
    } catch (err) {
      if (err instanceof TemplateError) {
        await finishSend(ctx.deps.db, job.data.touchId, { status: 'failed', error: err.message });
        throw new UnrecoverableError(err.message);
      }
      if (job.attemptsMade + 1 >= (job.opts.attempts ?? SEND_ATTEMPTS)) {
        await finishSend(ctx.deps.db, job.data.touchId, { status: 'failed', error: `gave up after ${job.attemptsMade + 1} attempts: ${(err as Error).message}` });
      }
      throw err;
    }
  };
  return new Worker(SENDS_QUEUE, process, ctx.workerOptions(ctx.concurrency.sends));
}
