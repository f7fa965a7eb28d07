import { UnknownOutcomeError } from '../errors.js';
import { closestNames, didYouMean } from '../sequences/suggest.js';

/**
 * What staff may say happened when they complete a task, per task kind, and what each outcome
 * does. Outcomes are a declared list rather than free text because each one is an event
 * sequences react to (`task_completed` with `data.outcome`) and some change the contact: a typo
 * would silently match nothing. Pure: no I/O, the team's own lists come in as an argument.
 */

export const CALL_OUTCOMES = ['connected', 'no_answer', 'left_voicemail', 'appointment_booked', 'not_interested', 'wrong_number'] as const;
export const MAIL_OUTCOMES = ['sent', 'returned'] as const;
/** A notice (a `notify` step) asks staff to follow up: there is only having done it. */
export const NOTICE_OUTCOMES = ['done'] as const;

/** Outcomes per task kind; a kind's list is the whole list (what staff pick from). */
export type OutcomeMap = Readonly<Record<string, readonly string[]>>;

export const DEFAULT_OUTCOMES: OutcomeMap = {
  call: CALL_OUTCOMES,
  postcard: MAIL_OUTCOMES,
  letter: MAIL_OUTCOMES,
  notice: NOTICE_OUTCOMES,
};

/** Outcomes of a call in which the caller spoke with the contact (tasks.first_connected_at). */
export const CONNECTED_OUTCOMES: readonly string[] = ['connected', 'appointment_booked', 'not_interested'];

/**
 * The declared outcomes of `kind`: the team's list when it declares one (team.yaml `outcomes:`,
 * which replaces the default for that kind, so a team can also drop an outcome), else the default.
 * A custom kind has only what the team declares.
 */
export function outcomesFor(kind: string, declared?: OutcomeMap): readonly string[] {
  if (declared && Object.hasOwn(declared, kind)) return declared[kind]!;
  return Object.hasOwn(DEFAULT_OUTCOMES, kind) ? DEFAULT_OUTCOMES[kind]! : [];
}

/** How outcomes compare: case, surrounding space and inner spaces or dashes do not matter ("No answer" is no_answer). */
export function normaliseOutcome(s: string): string {
  return s.trim().toLowerCase().replace(/[\s-]+/g, '_');
}

/**
 * The declared spelling of `given` for `kind`, or an UnknownOutcomeError that lists the allowed
 * outcomes and suggests the one probably meant.
 */
export function validateOutcome(kind: string, given: string, declared?: OutcomeMap): string {
  const allowed = outcomesFor(kind, declared);
  const wanted = normaliseOutcome(given);
  const hit = allowed.find((o) => normaliseOutcome(o) === wanted);
  if (hit !== undefined && wanted !== '') return hit;
  if (allowed.length === 0) {
    throw new UnknownOutcomeError(kind, given, allowed, [], `a ${kind} task has no declared outcomes: declare them under "outcomes: { ${kind}: [...] }" in team.yaml`);
  }
  const list = allowed.join(', ');
  if (wanted === '') {
    throw new UnknownOutcomeError(kind, given, allowed, [], `the outcome is empty: say what happened to the ${kind} (one of: ${list})`);
  }
  const suggestions = closestNames(wanted, allowed, 2);
  throw new UnknownOutcomeError(kind, given, allowed, suggestions, `"${given.trim()}" is not an outcome of a ${kind} task${didYouMean(suggestions)} (one of: ${list})`);
}

/** What an outcome does besides completing the task, as data for the shell to carry out. */
export interface OutcomeEffects {
  /** Counts as an appointment request: the contact becomes a lead (NURTURE_PROMOTE_CALL_OUTCOMES). */
  promote: boolean;
  /** The piece came back: no more postcards or letters to this address (contacts.address_bad_at). */
  markAddressBad: boolean;
  /** The number reached someone else (contacts.phone_bad_at). */
  markPhoneBad: boolean;
  /** The person said no: every active enrollment ends (`not_interested`) and open nurture tasks are cancelled. */
  endNurture: boolean;
  /** A call was attempted (tasks.first_attempt_at). */
  attempt: boolean;
  /** A call reached the person (tasks.first_connected_at). */
  connected: boolean;
}

export const NO_EFFECTS: OutcomeEffects = { promote: false, markAddressBad: false, markPhoneBad: false, endNurture: false, attempt: false, connected: false };

export interface EffectRules {
  /** Call outcomes that count as an appointment request (default appointment_booked). */
  promoteOn?: readonly string[] | undefined;
}

/**
 * The effects of a (validated) outcome. The outcome's name decides, whatever kind declared it, so
 * a team's own kind that declares `returned` or `wrong_number` gets the same care; promotion and
 * the attempt times are a call's.
 */
export function outcomeEffects(kind: string, outcome: string, rules: EffectRules = {}): OutcomeEffects {
  const o = normaliseOutcome(outcome);
  const call = kind === 'call';
  const promote = call && (rules.promoteOn ?? ['appointment_booked']).some((p) => normaliseOutcome(p) === o);
  return {
    promote,
    markAddressBad: o === 'returned',
    markPhoneBad: o === 'wrong_number',
    endNurture: o === 'not_interested',
    attempt: call,
    connected: call && (promote || CONNECTED_OUTCOMES.includes(o)),
  };
}
