import { DateTime } from 'luxon';
import type { Contact } from './contact.js';
import type { EventFacts } from './match.js';
import { matchesEvent } from './match.js';
import type { SequenceDefinition } from './schema.js';
import { CHANNELS, mayReceive } from './stage.js';
import { addDuration } from './time-rules.js';

/** Who becomes a lead is decided with the rest of the lifecycle, in stage.ts. */
export type { PromotionRules } from './stage.js';
export { DEFAULT_PROMOTION_RULES, promotionReason } from './stage.js';

/**
 * Contact-level rules: who may enter a sequence, which events trigger one. Pure, like advance.ts.
 */

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
  contact: Pick<Contact, 'status' | 'unsubscribedAt' | 'bouncedAt' | 'timezone' | 'pausedAt'>,
  past: readonly PastEnrollment[],
  now: DateTime,
  defaultZone: string,
): EntryDecision {
  // A contact enters while some channel may still reach it: a bounced address still gets mail pieces.
  const stops = CHANNELS.map((ch) => mayReceive(contact, ch)).flatMap((r) => (r.ok ? [] : [r.reason]));
  if (stops.length === CHANNELS.length) {
    const stop = stops[0]!;
    if (stop !== 'promoted') return { enter: false, reason: stop };
    return { enter: false, reason: contact.status === 'lead' ? 'already a lead' : `past nurture: ${contact.status}` };
  }
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
