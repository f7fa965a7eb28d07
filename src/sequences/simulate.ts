import { DateTime } from 'luxon';
import type { Action, AdvanceSettings, EnrollmentState, Trigger } from './advance.js';
import { advance } from './advance.js';
import type { HistoryEntry } from './conditions.js';
import type { Contact } from './contact.js';
import type { PromotionRules } from './lifecycle.js';
import { DEFAULT_PROMOTION_RULES } from './lifecycle.js';
import type { Program } from './program.js';
import { RuleError } from '../errors.js';

/**
 * Runs one enrollment through its whole life in memory: the engine's own `advance`, driven by
 * its wake-ups and a script of events, with no queue and no database. Used by `nurture preview`
 * and by tests that cover 18 months in milliseconds.
 */
export interface ScriptedEvent {
  at: DateTime;
  type: string;
  data?: Record<string, unknown>;
  /** The email step the event refers to (an open or click of that step's email). */
  step?: string;
}

export interface TimelineEntry {
  at: DateTime;
  kind: 'touch' | 'event' | 'delay' | 'end';
  action?: Action;
  event?: ScriptedEvent;
  text: string;
}

export interface Simulation {
  timeline: TimelineEntry[];
  outcome: string;
  reason: string | null;
  finalState: EnrollmentState | null;
}

const MAX_ROUNDS = 20_000;
export const SIMULATED_ENROLLMENT = 'preview';

export function simulate(
  program: Program,
  contact: Contact,
  from: DateTime,
  script: readonly ScriptedEvent[],
  settings: AdvanceSettings,
  promotion: PromotionRules = DEFAULT_PROMOTION_RULES,
): Simulation {
  const events = [...script].sort((a, b) => a.at.toMillis() - b.at.toMillis());
  const timeline: TimelineEntry[] = [];
  const history: HistoryEntry[] = [];
  const sent: string[] = [];
  let state: EnrollmentState | null = null;
  let trigger: Trigger = { kind: 'start' };
  let now = from;
  let c: Contact = { ...contact };

  for (let round = 0; round < MAX_ROUNDS; round++) {
    const r = advance({ program, state, enrollmentId: SIMULATED_ENROLLMENT, contact: c, history, recentEmails: sent, trigger, now, settings });
    state = r.state;
    for (const a of r.actions) {
      const at = 'dueAt' in a ? DateTime.fromISO(a.dueAt, { zone: now.zone }) : now;
      if (a.kind === 'email') sent.push(a.dueAt);
      if (a.kind === 'tag') c = { ...c, tags: [...new Set([...c.tags.filter((t) => !a.remove.includes(t)), ...a.add])] };
      if (a.kind === 'set') c = { ...c, attributes: { ...c.attributes, ...a.values } };
      timeline.push({ at: a.kind === 'email' ? at : now, kind: 'touch', action: a, text: describeAction(a) });
    }
    if (r.outcome !== 'active') {
      timeline.push({ at: now, kind: 'end', text: `enrollment ${r.outcome}${r.reason ? ` (${r.reason})` : ''}` });
      return { timeline, outcome: r.outcome, reason: r.reason, finalState: state };
    }
    if (r.changed && state.pending?.kind === 'deferred') {
      timeline.push({ at: now, kind: 'delay', text: `next touch delayed to ${DateTime.fromISO(state.pending.until).setZone(now.zone).toFormat('ccc d LLL yyyy HH:mm')} (${state.pending.reason.replace('_', ' ')})` });
    }
    const next = events[0];
    if (next && (!r.wakeAt || next.at <= r.wakeAt)) {
      events.shift();
      now = next.at;
      timeline.push({ at: now, kind: 'event', event: next, text: `event ${next.type}${next.step ? ` on ${next.step}` : ''}` });
      history.unshift({ type: next.type, at: now.toISO()!, data: next.data ?? {}, enrollmentId: next.step ? SIMULATED_ENROLLMENT : null, stepId: next.step ?? null });
      if (next.type === 'unsubscribed') {
        timeline.push({ at: now, kind: 'end', text: 'enrollment exited (unsubscribed): no further touches' });
        return { timeline, outcome: 'exited', reason: 'unsubscribed', finalState: state };
      }
      if (promotion.onEvents.includes(next.type)) {
        timeline.push({ at: now, kind: 'end', text: `promoted to lead (${next.type}): nurture ends, sales gets a call task` });
        return { timeline, outcome: 'exited', reason: 'promoted', finalState: state };
      }
      trigger = { kind: 'event', event: { type: next.type, data: next.data ?? {}, ref: next.step ? { enrollmentId: SIMULATED_ENROLLMENT, stepId: next.step } : undefined } };
      continue;
    }
    if (!r.wakeAt) return { timeline, outcome: 'active', reason: 'waiting with no wake-up', finalState: state };
    now = r.wakeAt.setZone(now.zone);
    trigger = { kind: 'wake' };
  }
  throw new RuleError(`simulation of ${program.sequenceId} did not end after ${MAX_ROUNDS} rounds`);
}

export function describeAction(a: Action): string {
  switch (a.kind) {
    case 'email':
      return `email ${a.template} (step ${a.stepId}, ${a.key})`;
    case 'mail_task':
      return `${a.medium} task ${a.template} for staff, due ${a.dueAt}`;
    case 'call_task':
      return `call task "${a.note}"${a.priority === 'high' ? ' [high]' : ''}, due ${a.dueAt}`;
    case 'notify':
      return `notify staff: ${a.note}${a.to ? ` (to ${a.to})` : ''}`;
    case 'tag':
      return `tags ${[...a.add.map((t) => `+${t}`), ...a.remove.map((t) => `-${t}`)].join(' ')}`;
    case 'set':
      return `set ${Object.entries(a.values).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}`;
    case 'start':
      return `start sequence ${a.sequence}`;
    case 'skipped':
      return `${a.medium ?? 'email'} step ${a.stepId} skipped (${a.reason})`;
    default: {
      const never: never = a;
      return String(never);
    }
  }
}
