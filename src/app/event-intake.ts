import type { NurtureEvent } from '../sequences/event.js';

/**
 * Where events received at the edge go (POST /v1/events, form posts, clicks, opens, bounces):
 * the port HTTP use cases hand parsed events to. `accept` resolves only once the events are
 * safe: an answer of 202 is given after it, never before.
 */
export interface EventIntake {
  accept(events: readonly NurtureEvent[]): Promise<void>;
}
