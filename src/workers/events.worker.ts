import { DelayedError, UnrecoverableError, Worker } from 'bullmq';
import type { Job, JobJsonRaw } from 'bullmq';
import { DateTime } from 'luxon';
import { recordFailedEvent } from '../db/event-repository.js';
import { sqlDataError } from '../db/sql-state.js';
import type { ApplyResult } from '../app/apply-events.js';
import type { EventOutcome } from '../app/metrics.js';
import { applyEventBatch } from '../app/apply-events.js';
import { NurtureError, isTransient } from '../errors.js';
import type { NurtureEvent, ParsedEvent } from '../sequences/event.js';
import { parseEvent } from '../sequences/event.js';
import { Batcher } from './batcher.js';
import type { WorkerContext } from './worker-context.js';
import { EVENTS_QUEUE } from './queues.js';

/**
 * After this many failed tries an event is set aside in failed_events instead of retried; and
 * after this many failed tries to set it aside, the job is left failed in BullMQ.
 */
const MAX_TRIES = 25;

function backoffMs(tries: number): number {
  return Math.min(60_000, 500 * 2 ** Math.min(tries, 7));
}

/** A job whose `data` in Redis is not JSON: BullMQ could not read it, so the text is all there is. */
class UnreadableJobData {
  constructor(
    readonly text: string,
    readonly error: string,
  ) {}
}

/**
 * BullMQ JSON.parses a job's data as it takes the job; when that throws, the job is left active
 * with nobody renewing its lock, is found stalled 30 s later, and goes round like that up to
 * maxStalledCount times, never reaching the processor. Here such a job reaches the processor
 * with its raw text, to be rejected on first sight like any other bad event.
 */
class EventsWorker extends Worker {
  protected override createJob(raw: JobJsonRaw, jobId: string): Job {
    try {
      return super.createJob(raw, jobId);
    } catch (err) {
      const job = super.createJob({ ...raw, data: '{}' }, jobId);
      job.data = new UnreadableJobData(raw.data, (err as Error).message);
      return job;
    }
  }
}

/** A job's data as the events worker reads it: the event, or why it is not one. */
function readJob(job: Job, o: { now: DateTime; maxFutureSkew: WorkerContext['maxFutureSkew'] }): ParsedEvent {
  if (job.data instanceof UnreadableJobData) {
    return { ok: false, field: '', reason: `job data is not JSON: ${job.data.error}`, eventId: undefined };
  }
  // The time the queue got the job stands in for a missing occurredAt: the same on every retry.
  const receivedAt = Number.isFinite(job.timestamp) && job.timestamp > 0 ? DateTime.fromMillis(job.timestamp, { zone: 'utc' }) : o.now;
  return parseEvent(job.data, { now: o.now, receivedAt, maxFutureSkew: o.maxFutureSkew });
}

/**
 * Consumes opt-in and engagement events. A bad event is recorded with its reason (see
 * `nurture events failed`) on first sight and never stops the worker; a database outage delays
 * the job and retries it, whatever retry options the producer set, so no event is dropped, up
 * to MAX_TRIES: then it is set aside too.
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
    const parsed = readJob(job, { now: clock(), maxFutureSkew: ctx.maxFutureSkew });
    const payload = job.data instanceof UnreadableJobData ? job.data.text : job.data;
    const type: unknown = parsed.ok ? parsed.event.type : (job.data as { type?: unknown } | null)?.type;
    const count = (outcome: EventOutcome): void => ctx.metrics.event(typeof type === 'string' ? type : '', outcome);
    const retryLater = async (err: unknown, eventId: string | undefined): Promise<never> => {
      const tries = job.attemptsStarted;
      count('retried');
      ctx.metrics.serviceError('database');
      log.warn({ err: (err as Error).message, jobId: job.id, eventId, tries }, 'event will be retried');
      await job.moveToDelayed(Date.now() + backoffMs(tries), token);
      throw new DelayedError();
    };
    // Until the event (or its rejection) is in Postgres, the job is all there is: a failure to
    // record the rejection delays the job and tries again, but not for ever. The rejection is
    // stored escaped and bounded, so it cannot fail for the reason the event did; what is left is
    // an outage that outlasts every try, and then the job stays failed in BullMQ (counted in
    // its failed set) with the reason, and the log says so once.
    const reject = async (f: { eventId: string | undefined; field: string; reason: string }): Promise<void> => {
      try {
        await recordFailedEvent(deps.db, { ...f, jobId: job.id, payload });
      } catch (err) {
        const tries = job.attemptsStarted;
        if (tries < MAX_TRIES) return retryLater(err, f.eventId);
        const why = `could not record the rejection of this event after ${tries} tries: ${(err as Error).message} (the event was rejected because: ${f.reason})`;
        log.error({ jobId: job.id, eventId: f.eventId, err: (err as Error).message, tries }, `${why}; the job is left failed in BullMQ`);
        throw new UnrecoverableError(why);
      }
    };
    if (!parsed.ok) {
      await reject(parsed);
      count('rejected');
      log.warn({ jobId: job.id, eventId: parsed.eventId, reason: parsed.reason }, 'event rejected');
      return 'rejected';
    }
    const eventId = parsed.event.id;
    try {
      const r = await batcher.submit(parsed.event);
      if (r.status === 'conflict') {
        const reason = `event id ${JSON.stringify(eventId)} was applied before with another body; this delivery was not applied: ${r.conflict?.differences.join('; ')}`;
        await reject({ eventId, field: r.conflict?.fields[0] ?? '', reason });
        count('conflict');
        log.warn({ jobId: job.id, eventId, reason }, 'event conflicts with the one applied under its id');
        return 'conflict';
      }
      count(r.status);
      if (r.promoted) log.info({ eventId, contactId: r.contactId }, 'contact promoted to lead');
      return r.status;
    } catch (err) {
      if (err instanceof DelayedError || err instanceof UnrecoverableError) throw err;
      const tries = job.attemptsStarted;
      // SQLSTATE classes 22 and 23: PostgreSQL refuses this event's data; it will refuse it every time.
      const dataError = sqlDataError(err);
      // Nurture's own errors are classed by their code (src/errors.ts); anything else may be an outage.
      const permanent = dataError !== undefined || (err instanceof NurtureError && !isTransient(err));
      if (!permanent && tries < MAX_TRIES) return retryLater(err, eventId);
      const message = dataError ? `PostgreSQL refused the event (SQLSTATE ${dataError.code}: ${dataError.message})` : (err as Error).message;
      const reason = `${permanent ? '' : `gave up after ${tries} tries: `}${message}`;
      await reject({ eventId, field: '', reason });
      count('failed');
      log.error({ err, eventId }, 'event could not be applied');
      return 'failed';
    }
  };
  return new EventsWorker(EVENTS_QUEUE, process, ctx.workerOptions(ctx.concurrency.events));
}
