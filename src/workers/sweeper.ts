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
 * Postgres is the source of truth for every wake-up; Redis holds only what is due within the
 * horizon. The sweeper offers that work to the queues with deterministic job ids, so running
 * it often, in several processes, or after Redis lost everything, never duplicates work.
 */
export class Sweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly queues: Queues,
    private readonly opts: { horizonMs: number; intervalMs: number; log: Logger; onTick?: () => Promise<void> },
  ) {}

  async sweepOnce(nowMs: number): Promise<{ wakes: number; sends: number }> {
    const wakes = await dueWakes(this.db, new Date(nowMs + this.opts.horizonMs), BATCH);
    if (wakes.length > 0) {
      await this.queues.wakes.addBulk(
        wakes.map((w) => {
          const data = { enrollmentId: w.id, version: w.wake_version };
          return { name: WAKE_JOB, data, opts: { jobId: wakeJobId(data), delay: delayUntil(w.next_wake_at, nowMs) } };
        }),
      );
    }
    const sends = await unsentEmails(this.db, new Date(nowMs - RESEND_GRACE_MS), BATCH);
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
