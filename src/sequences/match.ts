import { countsAsEngagement } from './engagement.js';
import type { EventMatcher } from './schema.js';

/** What the core needs to know of an event to match it: its type, data, and the step it refers to. */
export interface EventFacts {
  type: string;
  data: Record<string, unknown>;
  /** The enrollment and step of the touch the event refers to (an opened or clicked email), if any. */
  ref?: { enrollmentId: string; stepId: string } | undefined;
}

/** `where` keys compare with the event's data; a list means "any of these". */
export function matchesWhere(where: Record<string, unknown> | undefined, data: Record<string, unknown>): boolean {
  if (!where) return true;
  return Object.entries(where).every(([key, expected]) => {
    const actual = data[key];
    return Array.isArray(expected) ? expected.some((e) => e === actual) : expected === actual;
  });
}

/** A hit flagged as a link scanner's matches nothing: it is not the contact's doing. */
export function matchesEvent(m: EventMatcher, e: EventFacts): boolean {
  return m.event === e.type && countsAsEngagement(e.data) && matchesWhere(m.where, e.data);
}
