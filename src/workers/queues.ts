import { Queue } from 'bullmq';
import type { JobsOptions } from 'bullmq';
import type { RedisClient } from './redis-connection.js';
import { z } from 'zod';
import { MAX_ITEMS_PER_JOB } from '../config.js';

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
/** A job of many wake-ups or many sends: what the engine queues (the one-item jobs above are still run, for jobs queued before). */
export const WAKE_BATCH_JOB = 'wakes';
export const SEND_BATCH_JOB = 'sends';

// Internal payloads are still parsed: Redis is a boundary, and a malformed job must fail alone.
// `correlationId`: the id of the event whose handling queued this work, for the logs (absent when
// the sweeper offered it from Postgres). `due`: when the wake-up was due (epoch ms), for its lag.
const correlationId = z.string().max(256).optional();
export const wakePayloadSchema = z.strictObject({ enrollmentId: z.uuid(), version: z.number().int().min(0), due: z.number().int().optional(), correlationId });
export const sendPayloadSchema = z.strictObject({ touchId: z.uuid(), correlationId });
export const wakeBatchPayloadSchema = z.strictObject({ wakeUps: z.array(wakePayloadSchema).min(1).max(MAX_ITEMS_PER_JOB) });
export const sendBatchPayloadSchema = z.strictObject({ sends: z.array(sendPayloadSchema).min(1).max(MAX_ITEMS_PER_JOB) });
export type WakePayload = z.output<typeof wakePayloadSchema>;
export type SendPayload = z.output<typeof sendPayloadSchema>;
export type WakeBatchPayload = z.output<typeof wakeBatchPayloadSchema>;
export type SendBatchPayload = z.output<typeof sendBatchPayloadSchema>;

/** What one item of a job is known by in the queued-work markers (src/workers/queued-work.ts). */
export const wakeMemberId = (p: Pick<WakePayload, 'enrollmentId' | 'version'>): string => `${p.enrollmentId}-v${p.version}`;
export const sendMemberId = (p: Pick<SendPayload, 'touchId'>): string => p.touchId;

// The ids the one-item jobs of earlier releases had, by item: what such a release queued is not queued twice.
export const legacyWakeJobId = (member: string): string => `wake-${member}`;
export const legacySendJobId = (member: string): string => `send-${member}`;
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
  /** Most wake-ups and most sends one job carries (NURTURE_WAKE_BATCH, NURTURE_SEND_BATCH). */
  perJob: { wakes: number; sends: number };
  close(): Promise<void>;
}

/** One Queue per name per process (a Queue per job leaks connections). */
export function openQueues(connection: RedisClient, prefix: string, perJob: { wakes: number; sends: number }): Queues {
  const opts = { connection, prefix };
  const events = new Queue(EVENTS_QUEUE, { ...opts, defaultJobOptions: { ...KEEP, attempts: 1 } });
  // A wake-up job that failed all its tries is removed rather than kept: nothing in it is for an
  // operator to retry by hand. A wake-up that failed for its own reasons is quarantined in Postgres
  // by then (the sweeper skips it); one cut short by an outage is offered again by the sweeper.
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
    perJob,
    async close() {
      await Promise.all([events.close(), wakes.close(), sends.close()]);
    },
  };
}

export function delayUntil(at: Date, nowMs: number): number {
  return Math.max(0, at.getTime() - nowMs);
}

/** Items whose times lie this close together share a job, which runs when the last of them is due. */
const SHARED_JOB_SPREAD_MS = 250;

/**
 * Splits work into jobs of at most `size` items, in the order of when each item may run
 * (`delay`, 0 for anything due already): a cohort due at one instant becomes one job per `size`
 * items, and an item waits at most SHARED_JOB_SPREAD_MS for the others of its job.
 */
export function jobsByTime<T>(items: readonly T[], delayOf: (t: T) => number, size: number): { items: T[]; delay: number }[] {
  const timed = items.map((t) => ({ t, delay: delayOf(t) })).sort((a, b) => a.delay - b.delay);
  const out: { items: T[]; delay: number }[] = [];
  let first = 0; // the delay of the last job's first item
  for (const { t, delay } of timed) {
    const last = out.at(-1);
    if (last && last.items.length < size && delay - first <= SHARED_JOB_SPREAD_MS) {
      last.items.push(t);
      last.delay = delay;
    } else {
      out.push({ items: [t], delay });
      first = delay;
    }
  }
  return out;
}

export interface BatchJob<P> {
  name: string;
  data: P;
  opts: { delay: number };
  /** The marker ids of its items (see queued-work.ts). */
  members: string[];
}

/** Jobs of wake-ups as every producer (a use case's scheduler, the sweeper) adds them. */
export function wakeBatchJobs(wakes: readonly (Omit<WakePayload, 'due'> & { at: Date })[], nowMs: number, size: number): BatchJob<WakeBatchPayload>[] {
  return jobsByTime(wakes, (w) => delayUntil(w.at, nowMs), size).map((j) => ({
    name: WAKE_BATCH_JOB,
    data: { wakeUps: j.items.map(({ at, ...p }) => ({ ...dropUndefined(p), due: at.getTime() })) },
    opts: { delay: j.delay },
    members: j.items.map(wakeMemberId),
  }));
}

/** Jobs of sends as every producer adds them; no `at` means now. */
export function sendBatchJobs(sends: readonly (SendPayload & { at?: Date | undefined })[], nowMs: number, size: number): BatchJob<SendBatchPayload>[] {
  return jobsByTime(sends, (s) => (s.at ? delayUntil(s.at, nowMs) : 0), size).map((j) => ({
    name: SEND_BATCH_JOB,
    data: { sends: j.items.map(({ at: _at, ...p }) => dropUndefined(p)) },
    opts: { delay: j.delay },
    members: j.items.map(sendMemberId),
  }));
}

/** Job data is JSON: an absent correlation id is left out rather than stored as nothing. */
function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
