import { DelayedError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import { recordFailedEvent } from '../db/event-repository.js';
import type { ApplyResult } from '../app/apply-events.js';
import { applyEventBatch } from '../app/apply-events.js';
import { NurtureError, ServiceUnavailableError } from '../errors.js';
import type { NurtureEvent } from '../sequences/event.js';
import { parseEvent } from '../sequences/event.js';
import { Batcher } from './batcher.js';
import type { WorkerContext } from './worker-context.js';
import { EVENTS_QUEUE } from './queues.js';

/** After this many failed tries an event is set aside in failed_events instead of retried. */
const MAX_TRIES = 25;

function backoffMs(tries: number): number {
  return Math.min(60_000, 500 * 2 ** Math.min(tries, 7));
}

/**
 * Consumes opt-in and engagement events. A bad event is recorded with its reason (see
 * `nurture events failed`) and never stops the worker; a database outage delays the job and
 * retries it, whatever retry options the producer set, so no event is dropped.
 */
export function startEventsWorker(ctx: WorkerContext): Worker {
  const { deps, log, clock } = ctx;
  const batcher = new Batcher<NurtureEvent, ApplyResult>(
    (events) => applyEventBatch(ctx.app, events, clock()),
    // Several batches in flight: one is collected while another is in the database.
    Math.min(ctx.concurrency.events, ctx.eventBatch),
    2,
  );
  const process = async (job: Job, token?: string): Promise<string> => {
    const parsed = parseEvent(job.data);
    // Until the event (or its rejection) is in Postgres, the job is all there is: any failure
    // to record it delays the job and tries again, so nothing is dropped.
    const retryLater = async (err: unknown, eventId: string | undefined): Promise<never> => {
      const tries = job.attemptsStarted;
      log.warn({ err: (err as Error).message, eventId, tries }, 'event will be retried');
      await job.moveToDelayed(Date.now() + backoffMs(tries), token);
      throw new DelayedError();
    };
    if (!parsed.ok) {
      try {
        await recordFailedEvent(deps.db, { eventId: parsed.eventId, jobId: job.id, field: parsed.field, reason: parsed.reason, payload: job.data });
      } catch (err) {
        return retryLater(err, parsed.eventId);
      }
      log.warn({ jobId: job.id, eventId: parsed.eventId, reason: parsed.reason }, 'event rejected');
      return 'rejected';
    }
    try {
      const r = await batcher.submit(parsed.event);
      if (r.promoted) log.info({ eventId: parsed.event.id, contactId: r.contactId }, 'contact promoted to lead');
      return r.status;
    } catch (err) {
      const tries = job.attemptsStarted;
      const permanent = err instanceof NurtureError && !(err instanceof ServiceUnavailableError);
      if (!permanent && tries < MAX_TRIES) return retryLater(err, parsed.event.id);
      const reason = `${permanent ? '' : `gave up after ${tries} tries: `}${(err as Error).message}`;
      try {
        await recordFailedEvent(deps.db, { eventId: parsed.event.id, jobId: job.id, field: '', reason, payload: job.data });
      } catch (recordErr) {
        return retryLater(recordErr, parsed.event.id);
      }
      log.error({ err, eventId: parsed.event.id }, 'event could not be applied');
      return 'failed';
    }
  };
  return new Worker(EVENTS_QUEUE, process, ctx.workerOptions(ctx.concurrency.events));
}
