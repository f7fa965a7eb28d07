import type { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { dueWakes } from '../db/enrollment-repository.js';
import type { Database } from '../db/schema.js';
import { unsentEmails } from '../db/touch-repository.js';
import type { Logger } from '../logger.js';
import type { Queues } from './queues.js';
import { SEND_JOB, WAKE_JOB, delayUntil, sendJobId, wakeJobId } from './queues.js';

const BATCH = 5_000;
/** An email still pending this long after it was committed has lost its job (crash, Redis flush). */
const RESEND_GRACE_MS = 15_000;
/**
 * Work offered this recently is not offered again: re-adding an existing job id is harmless but
 * not free when thousands are due. After this long it is offered again, which is what brings
 * work back after Redis lost it.
 */
const REOFFER_MS = 20_000;

/**
 * Postgres is the source of truth for every wake-up; Redis holds only what is due within the
 * horizon. The sweeper offers that work to the queues with deterministic job ids, so running
 * it often, in several processes, or after Redis lost everything, never duplicates work.
 */
export class Sweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly offered = new Map<string, number>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly queues: Queues,
    private readonly opts: { horizonMs: number; intervalMs: number; log: Logger; onTick?: () => Promise<void> },
  ) {}

  /** Keeps the items not offered within REOFFER_MS, and notes them as offered now. */
  private fresh<T>(items: T[], key: (t: T) => string, nowMs: number): T[] {
    for (const [k, at] of this.offered) if (nowMs - at >= REOFFER_MS) this.offered.delete(k);
    return items.filter((item) => {
      const k = key(item);
      if (this.offered.has(k)) return false;
      this.offered.set(k, nowMs);
      return true;
    });
  }

  private sweeps = 0;

  /**
   * A marker key lives beside the queues; if it is gone, Redis lost its data (flushed, or
   * restarted empty), so everything due is offered again at once rather than within REOFFER_MS.
   */
  private async redisWasEmptied(nowMs: number): Promise<boolean> {
    // The queues run on ioredis (src/workers/redis-connection.ts); BullMQ types its client abstractly.
    const client = (await this.queues.wakes.client) as unknown as Redis;
    const created = await client.setnx(`${this.queues.wakes.opts.prefix}:sweeper-marker`, String(nowMs));
    return created === 1 && this.sweeps++ > 0;
  }

  async sweepOnce(nowMs: number, opts: { all?: boolean } = {}): Promise<{ wakes: number; sends: number }> {
    if (await this.redisWasEmptied(nowMs)) {
      this.opts.log.warn('Redis lost its data (flushed or restarted empty): re-queuing due work from Postgres');
      this.offered.clear();
    }
    const due = await dueWakes(this.db, new Date(nowMs + this.opts.horizonMs), BATCH);
    const wakes = opts.all ? due : this.fresh(due, (w) => wakeJobId({ enrollmentId: w.id, version: w.wake_version }), nowMs);
    if (wakes.length > 0) {
      await this.queues.wakes.addBulk(
        wakes.map((w) => {
          const data = { enrollmentId: w.id, version: w.wake_version };
          return { name: WAKE_JOB, data, opts: { jobId: wakeJobId(data), delay: delayUntil(w.next_wake_at, nowMs) } };
        }),
      );
    }
    const unsent = await unsentEmails(this.db, new Date(nowMs - RESEND_GRACE_MS), BATCH);
    const sends = opts.all ? unsent : this.fresh(unsent, (touchId) => sendJobId({ touchId }), nowMs);
    if (sends.length > 0) {
      await this.queues.sends.addBulk(sends.map((touchId) => ({ name: SEND_JOB, data: { touchId }, opts: { jobId: sendJobId({ touchId }) } })));
    }
    return { wakes: wakes.length, sends: sends.length };
  }

  start(clock: () => number): void {
    const tick = async (): Promise<void> => {
      try {
        await this.opts.onTick?.();
        await this.sweepOnce(clock());
      } catch (err) {
        this.opts.log.warn({ err: (err as Error).message }, 'sweep failed; will try again');
      }
    };
    const loop = (): void => {
      this.running = tick().finally(() => {
        if (this.timer !== undefined) this.timer = setTimeout(loop, this.opts.intervalMs);
      });
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
