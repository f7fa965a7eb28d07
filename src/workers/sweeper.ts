import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { Periodic } from './periodic.js';
import { RoundGuard } from './round-guard.js';
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
import type { BatchJob } from './queues.js';
import { legacySendJobId, legacyWakeJobId, sendBatchJobs, sendMemberId, wakeBatchJobs, wakeMemberId } from './queues.js';
import { notQueued, offerJobs } from './queued-work.js';

/** Rows read per query, and the work offered per round trip to Redis (one addBulk). */
const PAGE = 5_000;
/** Most rows read per sweep and kind: a due cohort of 100,000 is offered in one sweep. */
const PER_SWEEP = 200_000;
/** First key of the sweeper's advisory lock (the second is the schema): any constant int4 of our own. */
export const SWEEP_LOCK = 0x6e757274; // 'nurt'
/** An email younger than this is left to the job its commit queued (the sweeper is for jobs lost to a crash or a Redis flush). */
const RESEND_GRACE_MS = 15_000;
/**
 * Between full passes a sweep reads only past what it read before (a keyset cursor on the
 * query's order), so a cohort is read once. A full pass from the start, this often, finds what
 * was added behind the cursor (a commit that lagged its timestamp) and work whose job Redis lost.
 */
const FULL_PASS_MS = 20_000;

/** Where one kind of work was read up to, and when its pass from the start began. */
interface Lane {
  cursor: PageCursor | undefined;
  passStartedAt: number;
  /** Whether the pass read to the end: a pass longer than FULL_PASS_MS finishes before the next starts. */
  reachedEnd: boolean;
}

/**
 * Postgres is the source of truth for every wake-up; Redis holds only what is due within the
 * horizon. The sweeper offers that work to the queues, many items per job, and offers again only
 * what no live job carries (src/workers/queued-work.ts: one MGET per page and one script call
 * per 1,000 jobs named), so running it often, in several processes, or after Redis lost
 * everything, does not queue an item twice. (A wake-up queued twice would run once: the second is stale. An email
 * queued twice could go out twice, in doubt, if the second job found it `sending`.)
 */
export class Sweeper {
  private loop: Periodic | undefined;
  private readonly lanes: { wakes: Lane; sends: Lane } = {
    wakes: { cursor: undefined, passStartedAt: Number.NEGATIVE_INFINITY, reachedEnd: true },
    sends: { cursor: undefined, passStartedAt: Number.NEGATIVE_INFINITY, reachedEnd: true },
  };

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
      /** Overrides PAGE (tests). */
      batch?: number;
      /** Overrides PER_SWEEP (tests). */
      perSweep?: number;
      /** Overrides MARKED_GRACE_MS (tests). */
      markedGraceMs?: number;
    },
  ) {}

  /**
   * Reads `lane` page after page from its cursor (from the start on a full pass), and offers each
   * page's items that no live job carries in one addBulk. Returns how many items were offered.
   */
  private async sweepLane<T extends { cursor: PageCursor }>(
    lane: Lane,
    queue: Queue,
    fetch: (limit: number, after: PageCursor | undefined) => Promise<T[]>,
    member: (t: T) => string,
    legacyJobId: (member: string) => string,
    jobsOf: (fresh: T[]) => BatchJob<unknown>[],
    nowMs: number,
    restart: boolean,
  ): Promise<number> {
    if (restart || (lane.reachedEnd && nowMs - lane.passStartedAt >= FULL_PASS_MS)) {
      lane.cursor = undefined;
      lane.passStartedAt = nowMs;
    }
    const page = this.opts.batch ?? PAGE;
    const most = this.opts.perSweep ?? PER_SWEEP;
    let read = 0;
    let offered = 0;
    lane.reachedEnd = false;
    while (read < most) {
      const limit = Math.min(page, most - read);
      const rows = await fetch(limit, lane.cursor);
      if (rows.length === 0) {
        lane.reachedEnd = true;
        break;
      }
      read += rows.length;
      const members = rows.map(member);
      const absent = await notQueued(queue, members, legacyJobId, this.opts.markedGraceMs);
      offered += await offerJobs(queue, jobsOf(rows.filter((_, i) => absent.has(members[i]!))));
      lane.cursor = rows[rows.length - 1]!.cursor;
      if (rows.length < limit) {
        lane.reachedEnd = true;
        break;
      }
    }
    return offered;
  }

  private sweeps = 0;

  /**
   * A marker key lives beside the queues; if it is gone, Redis lost its data (flushed, or
   * restarted empty), so everything due is offered again at once rather than at the next full pass.
   */
  private async redisWasEmptied(nowMs: number): Promise<boolean> {
    const client = (await this.queues.wakes.client) as unknown as Redis;
    const created = await client.setnx(`${this.queues.wakes.opts.prefix}:sweeper-marker`, String(nowMs));
    return created === 1 && this.sweeps++ > 0;
  }

  /**
   * One sweep, under a Postgres advisory lock held for the sweep's transaction: every process
   * runs a sweeper, and one that finds the lock taken skips this round (`skipped`). The lock is
   * per database and schema. On PGlite (one process) it is always free; the transaction holds
   * PGlite's one session for the sweep. `all`: read from the start now (not at the next full pass).
   */
  async sweepOnce(nowMs: number, opts: { all?: boolean } = {}): Promise<{ wakes: number; sends: number; skipped: boolean }> {
    return this.db.transaction().execute(async (tx) => {
      const lock = await sql<{ ok: boolean }>`select pg_try_advisory_xact_lock(${SWEEP_LOCK}, hashtext(current_schema())) as ok`.execute(tx);
      if (lock.rows[0]?.ok !== true) return { wakes: 0, sends: 0, skipped: true };
      let restart = opts.all ?? false;
      if (await this.redisWasEmptied(nowMs)) {
        this.opts.log.warn('Redis lost its data (flushed or restarted empty): re-queuing due work from Postgres');
        restart = true;
      }
      const until = new Date(nowMs + this.opts.horizonMs);
      const wakes = await this.sweepLane(
        this.lanes.wakes,
        this.queues.wakes,
        (limit, after) => dueWakes(tx, until, limit, after),
        (w) => wakeMemberId({ enrollmentId: w.id, version: w.wake_version }),
        legacyWakeJobId,
        (fresh) => wakeBatchJobs(fresh.map((w) => ({ enrollmentId: w.id, version: w.wake_version, at: w.next_wake_at })), nowMs, this.queues.perJob.wakes),
        nowMs,
        restart,
      );
      const olderThan = new Date(nowMs - RESEND_GRACE_MS);
      const sends = await this.sweepLane(
        this.lanes.sends,
        this.queues.sends,
        (limit, after) => unsentEmails(tx, olderThan, limit, after),
        (t) => sendMemberId({ touchId: t.id }),
        legacySendJobId,
        (fresh) => sendBatchJobs(fresh.map((t) => ({ touchId: t.id })), nowMs, this.queues.perJob.sends),
        nowMs,
        restart,
      );
      return { wakes, sends, skipped: false };
    });
  }

  start(clock: () => number): void {
    const guard = new RoundGuard({ loop: 'sweeper', log: this.opts.log, metrics: this.opts.metrics, failed: 'sweep failed; will try again', recovered: 'the sweeper works again' });
    this.loop = new Periodic(
      () =>
        guard.run(async () => {
          try {
            await this.opts.onTick?.();
            const started = performance.now();
            const r = await this.sweepOnce(clock());
            if (!r.skipped) this.opts.metrics?.sweep((performance.now() - started) / 1000, r);
          } catch (err) {
            if (isTransientDbError(err)) this.opts.metrics?.serviceError('database');
            throw err;
          }
        }),
      this.opts.intervalMs,
    );
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop?.stop();
  }
}
