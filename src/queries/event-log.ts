import { failedEventsById, findEvent, listFailedEvents } from '../db/event-repository.js';
import { NotFoundError } from '../errors.js';
import type { ReadDb } from './read-db.js';

/** Events that could not be applied, and any one event by its producer's id: plain data. */

export interface FailedEventItem {
  id: number;
  receivedAt: string;
  eventId: string | null;
  jobId: string | null;
  field: string;
  reason: string;
  /** The raw payload as received (kept up to a few KiB). */
  payload: string;
}

type FailedRow = Awaited<ReturnType<typeof listFailedEvents>>[number];

function failedItem(r: FailedRow): FailedEventItem {
  return { id: r.id, receivedAt: r.received_at.toISOString(), eventId: r.event_id, jobId: r.job_id, field: r.field, reason: r.reason, payload: r.payload };
}

export async function failedEvents(db: ReadDb, limit = 50): Promise<FailedEventItem[]> {
  return (await listFailedEvents(db, limit)).map(failedItem);
}

export interface EventReport {
  eventId: string;
  /** The event as applied, or null if it never was. */
  applied: {
    id: string;
    type: string;
    contactEmail: string;
    occurredAt: string;
    /** The producer gave no occurredAt: `occurredAt` is the time the event was received. */
    occurredAtDefaulted: boolean;
    receivedAt: string;
    seq: string;
    data: Record<string, unknown>;
    touch: { id: string; sequenceId: string | null; stepId: string | null; kind: string | null } | null;
  } | null;
  /** Every time an event with this id was rejected. */
  failures: FailedEventItem[];
}

export async function eventReport(db: ReadDb, eventId: string): Promise<EventReport> {
  const e = await findEvent(db, eventId);
  const failures = (await failedEventsById(db, eventId)).map(failedItem);
  if (!e && failures.length === 0) {
    throw new NotFoundError(`no event with id "${eventId}": it was neither applied nor rejected (rejected events are listed by: nurture events failed)`);
  }
  return {
    eventId,
    applied: e
      ? {
          id: e.id,
          type: e.type,
          contactEmail: e.email,
          occurredAt: e.occurred_at.toISOString(),
          occurredAtDefaulted: e.occurred_at_defaulted,
          receivedAt: e.received_at.toISOString(),
          seq: String(e.seq),
          data: e.data,
          touch: e.touch_id ? { id: e.touch_id, sequenceId: e.sequence_id, stepId: e.step_id, kind: e.touch_kind } : null,
        }
      : null,
    failures,
  };
}
