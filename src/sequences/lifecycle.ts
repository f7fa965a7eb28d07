import { DateTime } from 'luxon';
import type { Contact } from './contact.js';
import type { EventFacts } from './match.js';
import { matchesEvent } from './match.js';
import type { SequenceDefinition } from './schema.js';
import { addDuration } from './time-rules.js';

/**
 * Contact-level rules: who becomes a lead, who may enter a sequence. Pure, like advance.ts.
 */
export interface PromotionRules {
  /** Event types that make a contact a lead (they asked for something specific). */
  onEvents: string[];
  /** Call-task outcomes that count as an appointment request. */
  callOutcomes: string[];
}

export const DEFAULT_PROMOTION_RULES: PromotionRules = {
  onEvents: ['appointment_requested', 'info_requested'],
  callOutcomes: ['appointment_booked'],
};

/** The reason a contact becomes a lead on this event, or null (already a lead, or not a lead signal). */
export function promotionReason(contact: Pick<Contact, 'status'>, eventType: string, rules: PromotionRules): string | null {
  if (contact.status === 'lead') return null;
  return rules.onEvents.includes(eventType) ? eventType : null;
}

export function isTriggeredBy(def: SequenceDefinition, e: EventFacts): boolean {
  return def.trigger.some((m) => matchesEvent(m, e));
}

export interface PastEnrollment {
  enrolledAt: string;
  status: 'active' | 'completed' | 'exited' | 'converted';
}

export type EntryDecision = { enter: true } | { enter: false; reason: string };

/**
 * Whether a triggering event may start an enrollment. Never two active enrollments in one
 * sequence: a second opt-in while enrolled does not start a duplicate.
 */
export function mayEnter(
  def: SequenceDefinition,
  contact: Pick<Contact, 'status' | 'unsubscribedAt' | 'timezone' | 'pausedAt'>,
  past: readonly PastEnrollment[],
  now: DateTime,
  defaultZone: string,
): EntryDecision {
  if (contact.unsubscribedAt) return { enter: false, reason: 'unsubscribed' };
  if (contact.status === 'lead') return { enter: false, reason: 'already a lead' };
  if (contact.pausedAt) return { enter: false, reason: 'paused' };
  if (past.some((p) => p.status === 'active')) return { enter: false, reason: 'already enrolled' };
  if (past.length === 0) return { enter: true };
  const policy = def.reentry;
  if (policy === 'always') return { enter: true };
  if (policy === 'once') return { enter: false, reason: 'reentry: once' };
  const last = past.map((p) => DateTime.fromISO(p.enrolledAt)).reduce((a, b) => (a > b ? a : b));
  const zone = contact.timezone ?? def.timezone ?? defaultZone;
  const allowedFrom = addDuration(last, policy.after, { zone, holidays: new Set() });
  return now >= allowedFrom ? { enter: true } : { enter: false, reason: `reentry: not before ${allowedFrom.toISO()}` };
}
