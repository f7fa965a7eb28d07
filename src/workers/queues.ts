import { Queue } from 'bullmq';
import type { JobsOptions } from 'bullmq';
import type { RedisClient } from './redis-connection.js';
import { z } from 'zod';

/**
 * Every queue, job name, payload and job id in one place. Producers outside Nurture need only
 * EVENTS_QUEUE and EVENT_JOB (see the README's "Event format").
 */
export const EVENTS_QUEUE = 'nurture-events';
export const EVENT_JOB = 'event';
export const WAKES_QUEUE = 'nurture-wakes';
export const WAKE_JOB = 'wake';
export const SENDS_QUEUE = 'nurture-sends';
export const SEND_JOB = 'send';

// Internal payloads are still parsed: Redis is a boundary, and a malformed job must fail alone.
// `correlationId`: the id of the event whose handling queued this work, for the logs (absent when
// the sweeper offered it from Postgres). `due`: when the wake-up was due (epoch ms), for its lag.
const correlationId = z.string().max(256).optional();
export const wakePayloadSchema = z.strictObject({ enrollmentId: z.uuid(), version: z.number().int().min(0), due: z.number().int().optional(), correlationId });
export const sendPayloadSchema = z.strictObject({ touchId: z.uuid(), correlationId });
export type WakePayload = z.output<typeof wakePayloadSchema>;
export type SendPayload = z.output<typeof sendPayloadSchema>;

// Deterministic ids: the sweeper may offer the same work many times; Redis keeps one job.
export const wakeJobId = (p: Pick<WakePayload, 'enrollmentId' | 'version'>): string => `wake-${p.enrollmentId}-v${p.version}`;
export const sendJobId = (p: Pick<SendPayload, 'touchId'>): string => `send-${p.touchId}`;
export const eventJobId = (eventId: string): string => `evt-${eventId.replace(/:/g, '_')}`;

const KEEP: Pick<JobsOptions, 'removeOnComplete' | 'removeOnFail'> = {
  removeOnComplete: true,
  removeOnFail: { count: 10_000 },
};

export const SEND_ATTEMPTS = 12;
/** Failed tries after which a wake-up is quarantined (see src/app/run-wake-up.ts). */
export const WAKE_ATTEMPTS = 5;

export interface Queues {
  events: Queue;
  wakes: Queue;
  sends: Queue;
  close(): Promise<void>;
}

/** One Queue per name per process (a Queue per job leaks connections). */
export function openQueues(connection: RedisClient, prefix: string): Queues {
  const opts = { connection, prefix };
  const events = new Queue(EVENTS_QUEUE, { ...opts, defaultJobOptions: { ...KEEP, attempts: 1 } });
  // A wake-up that failed all its tries is removed rather than kept: its deterministic id would
  // otherwise block the sweeper from offering it again. One that failed for its own reasons is
  // quarantined in Postgres by then (the sweeper skips it); one cut short by an outage is offered again.
  const wakes = new Queue(WAKES_QUEUE, {
    ...opts,
    defaultJobOptions: { ...KEEP, removeOnFail: true, attempts: WAKE_ATTEMPTS, backoff: { type: 'exponential', delay: 1000 } },
  });
  const sends = new Queue(SENDS_QUEUE, {
    ...opts,
    defaultJobOptions: { ...KEEP, attempts: SEND_ATTEMPTS, backoff: { type: 'exponential', delay: 2000 } },
  });
  return {
    events,
    wakes,
    sends,
    async close() {
      await Promise.all([events.close(), wakes.close(), sends.close()]);
    },
  };
}

export function delayUntil(at: Date, nowMs: number): number {
  return Math.max(0, at.getTime() - nowMs);
}

/** A wake-up job as every producer of one (a use case's scheduler, the sweeper) adds it. */
export function wakeJob(p: Omit<WakePayload, 'due'>, at: Date, nowMs: number) {
  const data: WakePayload = { ...dropUndefined(p), due: at.getTime() };
  return { name: WAKE_JOB, data, opts: { jobId: wakeJobId(p), delay: delayUntil(at, nowMs) } };
}

/** A send job as every producer of one adds it; no `at` means now. */
export function sendJob(p: SendPayload, at: Date | undefined, nowMs: number) {
  return { name: SEND_JOB, data: dropUndefined(p), opts: { jobId: sendJobId(p), delay: at ? delayUntil(at, nowMs) : 0 } };
}

/** Job data is JSON: an absent correlation id is left out rather than stored as nothing. */
function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
