import type { IncomingEvent, ParseEventOptions } from './event.js';
import { eventHashOf, parseEvent, quote } from './event.js';

/** Most events in one request to POST /v1/events. */
export const MAX_BATCH = 1000;

/** One bad item of a batch, for the answer: where it is, its id if it had one, the field and why. */
export interface BatchProblem {
  index: number;
  id: string | null;
  field: string;
  message: string;
}

export type ParsedBatch = { ok: true; events: IncomingEvent[] } | { ok: false; problems: BatchProblem[] };

/**
 * A batch is taken whole or not at all: every item is parsed as the queue parses it
 * (`parseEvent`), and every bad item is named, not only the first. The same id twice with the
 * same body is one event; with another body it is a problem (one id is one event). Pure given
 * `o.now`.
 */
function notAnObject(s: string): { ok: false; field: string; reason: string; eventId: undefined } {
  return { ok: false, field: '', reason: `event: must be a JSON object, got a string (${quote(s)})`, eventId: undefined };
}

export function parseEventBatch(items: readonly unknown[], o: ParseEventOptions): ParsedBatch {
  const problems: BatchProblem[] = [];
  const events: IncomingEvent[] = [];
  const seen = new Map<string, { index: number; hash: string }>();
  items.forEach((raw, index) => {
    // The queue takes JSON text as a job's data; in a request body an event is an object, never a string of JSON.
    const r = typeof raw === 'string' ? notAnObject(raw) : parseEvent(raw, o);
    if (!r.ok) {
      problems.push({ index, id: r.eventId ?? null, field: r.field, message: r.reason });
      return;
    }
    const id = r.event.id;
    const hash = eventHashOf(r.event);
    const before = seen.get(id);
    if (before === undefined) {
      seen.set(id, { index, hash });
      events.push(r.event);
    } else if (before.hash !== hash) {
      problems.push({ index, id, field: 'id', message: `id: ${quote(id)} is also the id of item ${before.index}, with another body (one id is one event)` });
    }
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, events };
}
