import type { IncomingEvent } from '../sequences/event.js';

export interface IntakeOptions {
  /** Who handed the events over: `api` (a bearer key), `webhook`, or the edge use case (a form, a click). Default `api`. */
  source?: string;
  /** A signed webhook's `webhook-id`: the same id again is a replay, answered but applied never twice. */
  webhookId?: string | undefined;
}

export interface IntakeReceipt {
  /** The ids of the events taken (all of them: a batch is taken whole or not at all). */
  accepted: string[];
  /** The webhook id was seen before: nothing was taken this time. */
  replay: boolean;
}

/**
 * Where events received at the edge go (POST /v1/events, form posts, clicks, opens, bounces):
 * the port HTTP use cases hand parsed events to. `accept` resolves only once the events are
 * safe (committed where a lost Redis cannot lose them): an answer of 202 is given after it,
 * never before. An event accepted twice under its id is applied once.
 */
export interface EventIntake {
  accept(events: readonly IncomingEvent[], o?: IntakeOptions): Promise<IntakeReceipt>;
}
