import type { DateTime } from 'luxon';
import type { Contact } from './contact.js';
import { countsAsEngagement } from './engagement.js';

/**
 * The contact's lifecycle, decided in one pure function (`decideLifecycle`) and read through one
 * stop rule (`mayReceive`). Two separate things, on purpose:
 *
 * - The **stage**: where the person is in the funnel (how ready they are to talk to sales). It
 *   only moves forward under today's rules. `lead` is the sales-qualified lead (SQL): someone who
 *   asked for something specific (an appointment, information). It keeps the name users see in
 *   the CLI, the stats and `NURTURE_PROMOTE_ON`. `engaged` and `mql` are reached by lead scoring
 *   (src/scoring/stages.ts, which may also move back between them under a `fall_back_below`);
 *   `customer` and `disqualified` are sales outcomes: a person sets them (`stage_set`).
 * - **Email standing**: consent (unsubscribed) and deliverability (bounced). These are facts about
 *   the address, not about interest: a lead who unsubscribes from the newsletter still asked for
 *   a call and stays a lead for sales; a bounced lead can still be phoned. So they sit beside the
 *   stage rather than replacing it, and the opt-in → lead figures keep counting them.
 */
export const STAGES = ['subscriber', 'engaged', 'mql', 'lead', 'customer', 'disqualified'] as const;
export type Stage = (typeof STAGES)[number];

/** Stages whose contacts are nurtured: before the hand-off to sales. */
const NURTURED: ReadonlySet<Stage> = new Set<Stage>(['subscriber', 'engaged', 'mql']);

export function isNurtured(stage: Stage): boolean {
  return NURTURED.has(stage);
}

export type EmailStanding = 'subscribed' | 'unsubscribed' | 'bounced';

/** The person's own wish comes first: an unsubscribed address that also bounced shows as unsubscribed. */
export function emailStandingOf(c: Pick<Contact, 'unsubscribedAt' | 'bouncedAt'>): EmailStanding {
  return c.unsubscribedAt ? 'unsubscribed' : c.bouncedAt ? 'bounced' : 'subscribed';
}

export type Channel = 'email' | 'postal' | 'call';
export const CHANNELS: readonly Channel[] = ['email', 'postal', 'call'];

/** Why a nurture touch may not go out. `promoted`: the contact is past nurture (a lead, or later). */
export type StopReason = 'unsubscribed' | 'bounced' | 'promoted';

export type Reach = { ok: true } | { ok: false; reason: StopReason };

/**
 * The stop rule for nurture touches, written once. An unsubscribe ends all nurture (email, mail
 * pieces and nurture calls alike: the person asked to be left alone); a bounce stops email only
 * (postcards and calls still reach people); past nurture, nothing more is sent by a sequence.
 * Sales' own call to a new lead is no nurture touch and is not gated here.
 */
export function mayReceive(c: Pick<Contact, 'status' | 'unsubscribedAt' | 'bouncedAt'>, channel: Channel): Reach {
  if (c.unsubscribedAt) return { ok: false, reason: 'unsubscribed' };
  if (channel === 'email' && c.bouncedAt) return { ok: false, reason: 'bounced' };
  if (!isNurtured(c.status)) return { ok: false, reason: 'promoted' };
  return { ok: true };
}

/** What the lifecycle needs of the contact. */
export type LifecycleContact = Pick<Contact, 'status' | 'unsubscribedAt' | 'bouncedAt'>;

/** What the lifecycle needs of an event. */
export interface LifecycleEvent {
  id: string;
  type: string;
  occurredAt: string;
  data?: Readonly<Record<string, unknown>> | undefined;
}

export interface PromotionRules {
  /** Event types that make a contact a lead (they asked for something specific). */
  onEvents: string[];
  /** Call-task outcomes that count as an appointment request (applied as `appointment_requested`). */
  callOutcomes: string[];
}

export const DEFAULT_PROMOTION_RULES: PromotionRules = {
  onEvents: ['appointment_requested', 'info_requested'],
  callOutcomes: ['appointment_booked'],
};

export type ChangeKind = 'stage' | 'unsubscribed' | 'resubscribed' | 'bounced';

/**
 * One transition. `from`/`to` are the stage before and after; for the email-standing kinds they
 * are equal (the stage the contact was in when it happened).
 */
export interface StageChange {
  kind: ChangeKind;
  from: Stage;
  to: Stage;
  reason: string;
  eventId: string;
  at: string;
}

/** Work the shell does for a decision, in order. */
export type LifecycleEffect =
  /** End every active enrollment, cancel unsent emails and open nurture tasks. */
  | { kind: 'end_nurture'; reason: 'unsubscribed' | 'promoted' | 'customer' | 'disqualified' }
  /** Cancel unsent emails only. */
  | { kind: 'stop_email'; reason: 'bounced' }
  /** Sales' high-priority call to the new lead. */
  | { kind: 'lead_call'; reason: string };

export interface LifecycleDecision {
  /** The contact's lifecycle fields after the event (equal to the input when nothing changed). */
  contact: LifecycleContact;
  changes: StageChange[];
  effects: LifecycleEffect[];
}

const later = (a: string, b: string) => Date.parse(a) > Date.parse(b);

/**
 * How one event moves the contact's lifecycle. Pure: same inputs, same decision.
 *
 * Consent facts are dated by when the person acted (the event's `occurredAt`, never later than
 * `now`), so an opt-in is compared with the unsubscribe in the order the person did them, however
 * late either was delivered. Transitions are dated `now`, when the engine made them. No rule
 * moves a stage backwards: a demotion (say, a lead gone cold) would be a rule of its own.
 */
export function decideLifecycle(contact: LifecycleContact, event: LifecycleEvent, rules: PromotionRules, now: DateTime): LifecycleDecision {
  const at = now.toUTC().toISO()!;
  const occurred = Date.parse(event.occurredAt);
  const actedAt = Number.isNaN(occurred) || occurred > now.toMillis() ? at : new Date(occurred).toISOString();
  const next: LifecycleContact = { status: contact.status, unsubscribedAt: contact.unsubscribedAt, bouncedAt: contact.bouncedAt };
  const changes: StageChange[] = [];
  const effects: LifecycleEffect[] = [];
  const reason = `event:${event.type}`;
  const record = (kind: ChangeKind, to: Stage = next.status) => changes.push({ kind, from: next.status, to, reason, eventId: event.id, at });

  // An opt-in made after the unsubscribe is fresh consent; one made before it (delivered late) is
  // not, nor is a public form's post nobody confirmed (`confirmed: false`): anyone can type an address.
  const unverified = event.data?.['confirmed'] === false;
  if (event.type === 'opt_in' && next.unsubscribedAt && later(event.occurredAt, next.unsubscribedAt) && !unverified) {
    record('resubscribed');
    next.unsubscribedAt = null;
  }
  if (event.type === 'unsubscribed' && !next.unsubscribedAt) {
    record('unsubscribed');
    next.unsubscribedAt = actedAt;
    effects.push({ kind: 'end_nurture', reason: 'unsubscribed' });
  }
  if (event.type === 'bounced' && !next.bouncedAt) {
    record('bounced');
    next.bouncedAt = actedAt;
    effects.push({ kind: 'stop_email', reason: 'bounced' });
  }
  // A person's word moves the stage any way, the only way back, and the way to customer or disqualified.
  const set = stageSetBy(event);
  if (set && set.to !== next.status) {
    const wasNurtured = isNurtured(next.status);
    changes.push({ kind: 'stage', from: next.status, to: set.to, reason: set.reason, eventId: event.id, at });
    next.status = set.to;
    if (set.to === 'lead') effects.push({ kind: 'end_nurture', reason: 'promoted' }, { kind: 'lead_call', reason: set.reason });
    else if (wasNurtured && (set.to === 'customer' || set.to === 'disqualified')) effects.push({ kind: 'end_nurture', reason: set.to });
  }
  // A link scanner's click is nobody asking for sales.
  const promotion = event.data && !countsAsEngagement(event.data) ? null : promotionReason(next, event.type, rules);
  if (promotion) {
    record('stage', 'lead');
    next.status = 'lead';
    effects.push({ kind: 'end_nurture', reason: 'promoted' }, { kind: 'lead_call', reason });
  }
  return { contact: next, changes, effects };
}

/** The stage a `stage_set` event asks for, and why; undefined for any other event or an unknown stage. */
export function stageSetBy(event: LifecycleEvent): { to: Stage; reason: string } | undefined {
  if (event.type !== 'stage_set') return undefined;
  const to = event.data?.['to'];
  if (typeof to !== 'string' || !(STAGES as readonly string[]).includes(to)) return undefined;
  const why = event.data?.['reason'];
  return { to: to as Stage, reason: typeof why === 'string' && why.trim() !== '' ? `set: ${why.trim()}` : 'set: by hand' };
}

/**
 * The reason a contact becomes a lead on this event, or null: not a lead signal, or the contact is
 * already past nurture (a lead is not promoted twice; a customer or a disqualified contact is
 * never made a lead again by an event).
 */
export function promotionReason(contact: Pick<Contact, 'status'>, eventType: string, rules: PromotionRules): string | null {
  if (!isNurtured(contact.status)) return null;
  return rules.onEvents.includes(eventType) ? eventType : null;
}
