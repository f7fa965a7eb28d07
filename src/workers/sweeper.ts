import type { Redis } from 'ioredis';
import { Periodic } from './periodic.js';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { dueWakes } from '../db/enrollment-repository.js';
import { isTransientDbError } from '../db/transient.js';
import type { Database } from '../db/schema.js';
import type { PageCursor } from '../db/touch-repository.js';
import { unsentEmails } from '../db/touch-repository.js';
import type { Metrics } from '../app/metrics.js';
import type { Logger } from '../logger.js';
import type { Queues } from './queues.js';
import { sendJob, sendJobId, wakeJob, wakeJobId } from './queues.js';

/** Most wake-ups and most emails offered per sweep (each, after leaving out those offered recently). */
const BATCH = 5_000;
/** First key of the sweeper's advisory lock (the second is the schema): any constant int4 of our own. */
export const SWEEP_LOCK = 0x6e757274; // 'nurt'
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
  private loop: Periodic | undefined;
  private readonly offered = new Map<string, number>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly queues: Queues,
    private readonly opts: {
      horizonMs: number;
      intervalMs: number;
      log: Logger;
      /** Where a sweep's duration and what it offered are reported. */
      metrics?: Metrics;
      onTick?: () => Promise<void>;
      /** Overrides BATCH (tests). */
      batch?: number;
    },
  ) {}

  /** Notes `key` as offered now, unless it was offered within REOFFER_MS. */
  private take(key: string, nowMs: number): boolean {
    const at = this.offered.get(key);
    if (at !== undefined && nowMs - at < REOFFER_MS) return false;
    this.offered.set(key, nowMs);
    return true;
  }

  /**
   * Up to `batch` items not offered recently, reading page after page: the limit applies after
   * the re-offer filter, so work beyond the first page is reached even while the first page is
   * still fresh (otherwise the same first rows would be re-offered and the rest would starve).
   */
  private async freshItems<T extends { cursor: PageCursor }>(
    fetch: (limit: number, after: PageCursor | undefined) => Promise<T[]>,
    key: (t: T) => string,
    nowMs: number,
    all: boolean,
  ): Promise<T[]> {
    const batch = this.opts.batch ?? BATCH;
    const out: T[] = [];
    let after: PageCursor | undefined;
    for (;;) {
      const page = await fetch(batch, after);
      for (const item of page) {
        if (out.length >= batch) return out;
        if (all || this.take(key(item), nowMs)) out.push(item);
      }
      if (out.length >= batch || page.length < batch) return out;
      after = page[page.length - 1]!.cursor;
    }
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

  /**
   * One sweep, under a Postgres advisory lock held for the sweep's transaction: every process
   * runs a sweeper, and one that finds the lock taken skips this round (`skipped`). The lock is
   * per database and schema. On PGlite (one process) it is always free; the transaction holds
   * PGlite's one session for the sweep, a few hundred milliseconds at most.
   */
  async sweepOnce(nowMs: number, opts: { all?: boolean } = {}): Promise<{ wakes: number; sends: number; skipped: boolean }> {
    return this.db.transaction().execute(async (tx) => {
      const lock = await sql<{ ok: boolean }>`select pg_try_advisory_xact_lock(${SWEEP_LOCK}, hashtext(current_schema())) as ok`.execute(tx);
      if (lock.rows[0]?.ok !== true) return { wakes: 0, sends: 0, skipped: true };
      if (await this.redisWasEmptied(nowMs)) {
        this.opts.log.warn('Redis lost its data (flushed or restarted empty): re-queuing due work from Postgres');
        this.offered.clear();
      }
      for (const [k, at] of this.offered) if (nowMs - at >= REOFFER_MS) this.offered.delete(k);
      const all = opts.all ?? false;
      const until = new Date(nowMs + this.opts.horizonMs);
      const wakes = await this.freshItems((limit, after) => dueWakes(tx, until, limit, after), (w) => wakeJobId({ enrollmentId: w.id, version: w.wake_version }), nowMs, all);
      if (wakes.length > 0) {
        await this.queues.wakes.addBulk(wakes.map((w) => wakeJob({ enrollmentId: w.id, version: w.wake_version }, w.next_wake_at, nowMs)));
      }
      const olderThan = new Date(nowMs - RESEND_GRACE_MS);
      const sends = await this.freshItems((limit, after) => unsentEmails(tx, olderThan, limit, after), (t) => sendJobId({ touchId: t.id }), nowMs, all);
      if (sends.length > 0) {
        await this.queues.sends.addBulk(sends.map((t) => sendJob({ touchId: t.id }, undefined, nowMs)));
      }
      return { wakes: wakes.length, sends: sends.length, skipped: false };
    });
  }

  start(clock: () => number): void {
    this.loop = new Periodic(async () => {
      try {
        await this.opts.onTick?.();
        const started = performance.now();
        const r = await this.sweepOnce(clock());
        if (!r.skipped) this.opts.metrics?.sweep((performance.now() - started) / 1000, r);
      } catch (err) {
        if (isTransientDbError(err)) this.opts.metrics?.serviceError('database');
        this.opts.log.warn({ err: (err as Error).message }, 'sweep failed; will try again');
      }
    }, this.opts.intervalMs);
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop?.stop();
  }
}
