import type { Redis } from 'ioredis';
import type { Metrics } from '../app/metrics.js';
import { Periodic } from './periodic.js';
import { RoundGuard } from './round-guard.js';
import type { Kysely } from 'kysely';
import type { IntakeRow } from '../db/intake-repository.js';
import { intakeToOffer, markOffered, pruneWebhookReceipts, settleIntake } from '../db/intake-repository.js';
import type { Database } from '../db/schema.js';
import type { Logger } from '../logger.js';
import { WEBHOOK_TOLERANCE_SECONDS } from '../security/standard-webhooks.js';
import { offerIntake } from './durable-intake.js';
import type { Queues } from './queues.js';
import { eventJobId } from './queues.js';

/** An event offered this long ago and still not applied has probably lost its job (Redis lost it). */
export const INTAKE_REOFFER_MS = 20_000;
const PAGE = 1000;
/** Most events offered per round; the rest wait for the next one. */
const MOST_PER_ROUND = 10_000;
const PRUNE_EVERY_MS = 60_000;

/**
 * Drains `event_intake`, in the process that runs the sweeper: deletes the events that were
 * applied or rejected, and offers to the queue those still waiting that were never offered or
 * not for a while (their job was lost with Redis). Offering an event twice costs nothing: the job
 * id is the event's, and an applied event is applied once.
 */
export class IntakeDrainer {
  private loop: Periodic | undefined;
  private rounds = 0;
  private prunedAt = 0;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly queues: Queues,
    private readonly opts: { intervalMs: number; log: Logger; reofferMs?: number; metrics?: Metrics | undefined },
  ) {}

  /** A marker beside the queues: gone means Redis lost its data, so every waiting event is offered at once. */
  private async redisWasEmptied(nowMs: number): Promise<boolean> {
    const client = (await this.queues.events.client) as unknown as Redis;
    const created = await client.setnx(`${this.queues.events.opts.prefix}:intake-marker`, String(nowMs));
    // The first round of a process creates the marker when it is missing; only later rounds can find it gone.
    const first = this.rounds++ === 0;
    return created === 1 && !first;
  }

  /** The rows whose job is not in Redis (one pipelined EXISTS per page). */
  private async withoutJobs(rows: readonly IntakeRow[]): Promise<IntakeRow[]> {
    const client = (await this.queues.events.client) as unknown as Redis;
    const pipeline = client.pipeline();
    for (const r of rows) pipeline.exists(this.queues.events.toKey(eventJobId(r.id)));
    const answers = (await pipeline.exec()) ?? [];
    return rows.filter((_, i) => {
      const [err, n] = answers[i] ?? [null, 0];
      return err !== null || n === 0;
    });
  }

  async drainOnce(nowMs: number): Promise<{ settled: number; offered: number }> {
    const settled = await settleIntake(this.db);
    const emptied = await this.redisWasEmptied(nowMs);
    if (emptied) this.opts.log.warn('Redis lost its data: offering every received event not yet applied again');
    const now = new Date(nowMs);
    const before = emptied ? now : new Date(nowMs - (this.opts.reofferMs ?? INTAKE_REOFFER_MS));
    let offered = 0;
    let scanned = 0;
    while (scanned < MOST_PER_ROUND) {
      const rows = await intakeToOffer(this.db, before, PAGE);
      if (rows.length === 0) break;
      // An event still waiting in the queue is not offered again: under a backlog that would be
      // thousands of no-op adds every round. Only those whose job is gone (lost) go back.
      const lost = emptied ? rows : await this.withoutJobs(rows);
      await offerIntake(this.queues, lost);
      await markOffered(
        this.db,
        rows.map((r) => r.id),
        now,
      );
      offered += lost.length;
      scanned += rows.length;
      if (rows.length < PAGE) break;
    }
    if (offered > 0) this.opts.log.info({ events: offered }, 'offered received events to the events queue again');
    if (nowMs - this.prunedAt >= PRUNE_EVERY_MS) {
      this.prunedAt = nowMs;
      await pruneWebhookReceipts(this.db, new Date(nowMs - 2 * WEBHOOK_TOLERANCE_SECONDS * 1000));
    }
    return { settled, offered };
  }

  start(clock: () => number): void {
    const guard = new RoundGuard({
      loop: 'intake_drain',
      log: this.opts.log,
      metrics: this.opts.metrics,
      failed: 'draining received events failed; will try again',
      recovered: 'draining received events works again',
    });
    this.loop = new Periodic(
      () =>
        guard.run(async () => {
          await this.drainOnce(clock());
        }),
      this.opts.intervalMs,
    );
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop?.stop();
  }
}
