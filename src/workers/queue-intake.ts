import type { EventIntake } from '../app/event-intake.js';
import { toWire } from '../sequences/event.js';
import type { Queues } from './queues.js';
import { EVENT_JOB, eventJobId } from './queues.js';

/** Events straight onto the events queue (one job per event id, so a repeat is one job). */
export function queueIntake(queues: Queues): EventIntake {
  return {
    async accept(events) {
      if (events.length === 0) return;
      await queues.events.addBulk(events.map((e) => ({ name: EVENT_JOB, data: toWire(e), opts: { jobId: eventJobId(e.id) } })));
    },
  };
}
