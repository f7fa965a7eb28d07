import type { Config } from '../config.js';
import type { IncomingEvent } from '../sequences/event.js';
import { toWire } from '../sequences/event.js';
import { EVENT_JOB, eventJobId } from '../workers/queues.js';
import { withQueues } from './composition-root.js';

const CHUNK = 1000;

/**
 * Puts parsed events on the events queue, the way any producer would: one job per event, its
 * id derived from the event id so a repeated emit is one job. Returns the number queued.
 */
export async function enqueueEvents(config: Config, events: readonly IncomingEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  await withQueues(config, async (queues) => {
    for (let i = 0; i < events.length; i += CHUNK) {
      const chunk = events.slice(i, i + CHUNK);
      await queues.events.addBulk(chunk.map((e) => ({ name: EVENT_JOB, data: toWire(e), opts: { jobId: eventJobId(e.id) } })));
    }
  });
  return events.length;
}
