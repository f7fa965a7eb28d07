import type { Kysely } from 'kysely';
import type { DateTime } from 'luxon';
import type { EventIntake } from '../app/event-intake.js';
import type { IntakeRow } from '../db/intake-repository.js';
import { insertIntake } from '../db/intake-repository.js';
import type { Database } from '../db/schema.js';
import { isTransientDbError, retryTransient } from '../db/transient.js';
import { ServiceUnavailableError } from '../errors.js';
import type { Logger } from '../logger.js';
import { toWire } from '../sequences/event.js';
import type { Queues } from './queues.js';
import { EVENT_JOB, eventJobId } from './queues.js';

const CHUNK = 1000;
/** How long an answer waits for the queue after the commit; past it the drainer offers the events. */
const OFFER_WAIT_MS = 2000;

/** Puts waiting events on the events queue: one job per event id (BullMQ keeps one), dated when they were received. */
export async function offerIntake(queues: Queues, rows: readonly IntakeRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) {
    await queues.events.addBulk(
      rows.slice(i, i + CHUNK).map((r) => ({
        name: EVENT_JOB,
        data: r.payload,
        // The time received stands in for a missing occurredAt (src/workers/events.worker.ts): the same on every offer.
        opts: { jobId: eventJobId(r.id), timestamp: r.receivedAt.getTime() },
      })),
    );
  }
}

/**
 * The EventIntake of a process with a database and queues: events are committed to
 * `event_intake` in one statement (with the webhook receipt, for a signed webhook) before
 * `accept` resolves, then offered to the queue at once. Should the queue not take them (Redis
 * down, or it loses them later), the drainer (src/workers/intake-drainer.ts) offers them again
 * until they are applied.
 */
export function durableIntake(o: { db: Kysely<Database>; queues: Queues; log: Logger; clock: () => DateTime }): EventIntake {
  return {
    async accept(events, opts = {}) {
      const at = o.clock().toJSDate();
      const rows = events.map((e) => ({ id: e.id, payload: toWire(e), receivedAt: at }));
      // A database restart is ridden out; one that lasts is a 503 that says nothing was taken (send again: ids apply once).
      const { replay } = await retryTransient(() => insertIntake(o.db, rows, { source: opts.source ?? 'api', at, webhookId: opts.webhookId }), { tries: 3 }).catch((err: unknown) => {
        if (!isTransientDbError(err)) throw err;
        o.log.warn({ err: (err as Error).message }, 'could not commit received events: the database is not answering');
        throw new ServiceUnavailableError('the database is not answering: nothing was accepted; send the events again (an id is applied once)', { cause: err });
      });
      if (!replay && rows.length > 0) {
        const offered = offerIntake(o.queues, rows).catch((err: Error) => {
          o.log.warn({ err: err.message, events: rows.length }, 'received events are committed but not queued yet; the intake drainer will queue them');
        });
        await Promise.race([offered, new Promise((r) => setTimeout(r, OFFER_WAIT_MS).unref())]);
      }
      return { accepted: events.map((e) => e.id), replay };
    },
  };
}
