import { DateTime } from 'luxon';
import type { Contact } from './contact.js';
import type { StopReason } from './stage.js';
import { mayReceive } from './stage.js';
import type { HistoryEntry } from './conditions.js';
import { evaluate } from './conditions.js';
import { assertNever } from './compile.js';
import type { EventFacts } from './match.js';
import { matchesEvent } from './match.js';
import type { Instruction, Program } from './program.js';
import { instructionKey } from './program.js';
import { scaleDuration } from './duration.js';
import { addDuration, applyCaps, resolveWait } from './time-rules.js';
import type { FrequencyCap, TimeContext } from './time-types.js';
import { zoneNamed } from './zones.js';
import { InternalError, RuleError } from '../errors.js';
import { isoInstant } from './iso-instant.js';

/**
 * The heart of Nurture: given a compiled sequence, an enrollment's state, the contact, what
 * happened (start, a timer, an event) and `now`, decide what to do and what the state becomes.
 * It reads no clock and does no I/O; the shell commits its result and performs the actions.
 */

export type Pending =
  | { kind: 'wait'; until: string }
  | { kind: 'wait_for'; until: string }
  | { kind: 'deferred'; until: string; reason: 'send_window' | 'frequency_cap' | 'edited' };

export interface EnrollmentState {
  v: 2;
  /** Index of the instruction to run (or being waited on). */
  pc: number;
  /** `instructionKey` of that instruction, so a new version of the sequence can find it again. */
  at: string | null;
  /** Completed iterations per repeat step id. */
  loops: Record<string, number>;
  /** When each repeat began (ISO): iteration k is due k × every after it, whatever delays came between. */
  anchors?: Record<string, string>;
  /**
   * Logical time: when the current instruction became due. Waits count from it rather than from
   * when a worker happened to run, so a late or restarted worker does not shift the timeline.
   */
  clock: string;
  pending: Pending | null;
}

export type Action =
  | { kind: 'email'; key: string; stepId: string; template: string; dueAt: string }
  | { kind: 'mail_task'; key: string; stepId: string; medium: 'postcard' | 'letter'; template: string; dueAt: string }
  | { kind: 'call_task'; key: string; stepId: string; note: string; priority: 'normal' | 'high'; dueAt: string }
  | { kind: 'notify'; key: string; stepId: string; note: string; to: string | undefined; dueAt: string }
  | { kind: 'tag'; stepId: string; add: string[]; remove: string[] }
  | { kind: 'set'; stepId: string; values: Record<string, string | number | boolean | null> }
  | { kind: 'start'; stepId: string; sequence: string }
  /** A step that did not go out; `medium` absent: an email. A skipped mail piece names its template. */
  | { kind: 'skipped'; stepId: string; key: string; reason: SkipReason; dueAt: string; medium?: 'postcard' | 'letter' | undefined; template?: string | undefined };

/** Why a step was skipped: the stop rule's reasons, or a returned postal address (mail pieces). */
export type SkipReason = StopReason | 'address_returned';

export type EnrollmentOutcome = 'active' | 'completed' | 'exited' | 'converted';

export type Trigger = { kind: 'start' } | { kind: 'wake' } | { kind: 'event'; event: EventFacts };

export interface AdvanceSettings {
  /** Zone used when neither the contact nor the sequence names one. */
  defaultZone: string;
  caps?: FrequencyCap | undefined;
  /**
   * A worker that wakes later than this after the due time (an outage) restarts the logical
   * clock at `now`, so the rest of the sequence keeps its spacing instead of firing in a burst.
   */
  catchUpAfterMs?: number | undefined;
}

export interface AdvanceInput {
  program: Program;
  /** null when enrolling. */
  state: EnrollmentState | null;
  enrollmentId: string;
  contact: Contact;
  history: readonly HistoryEntry[];
  /** Instants of emails already sent or scheduled to this contact by any sequence (for caps). */
  recentEmails: readonly string[];
  trigger: Trigger;
  now: DateTime;
  settings: AdvanceSettings;
}

export interface AdvanceResult {
  /** False when the input changed nothing (e.g. an event this enrollment does not care about). */
  changed: boolean;
  state: EnrollmentState;
  outcome: EnrollmentOutcome;
  reason: string | null;
  actions: Action[];
  wakeAt: DateTime | null;
  /** Step the enrollment is at (or waiting in), for people and reports. */
  stepId: string | null;
}

const STEP_BUDGET = 10_000;
const DEFAULT_CATCH_UP_MS = 60 * 60 * 1000;

export function timeContextFor(program: Program, contact: Contact, settings: AdvanceSettings): TimeContext {
  return {
    zone: contact.timezone ?? program.definition.timezone ?? settings.defaultZone,
    holidays: new Set(program.definition.holidays),
  };
}

export function initialState(program: Program, now: DateTime): EnrollmentState {
  const first = program.instructions[0];
  return { v: 2, pc: 0, at: first ? instructionKey(first) : null, loops: {}, clock: now.toISO()!, pending: null };
}

export function advance(input: AdvanceInput): AdvanceResult {
  const { program, trigger, now } = input;
  const start = input.state ?? initialState(program, now);
  const unchanged = (): AdvanceResult => ({
    changed: false,
    state: start,
    outcome: 'active',
    reason: null,
    actions: [],
    wakeAt: start.pending ? isoInstant(start.pending.until) : null,
    stepId: program.instructions[start.pc]?.stepId ?? null,
  });
  const ended = (outcome: EnrollmentOutcome, reason: string): AdvanceResult => ({
    changed: true,
    state: { ...start, pending: null },
    outcome,
    reason,
    actions: [],
    wakeAt: null,
    stepId: program.instructions[start.pc]?.stepId ?? null,
  });

  switch (trigger.kind) {
    case 'start':
      return run(input, { ...start, loops: { ...start.loops } }, now);
    case 'wake': {
      const p = start.pending;
      if (!p) return unchanged();
      const due = isoInstant(p.until);
      if (now < due) return unchanged();
      const late = now.toMillis() - due.toMillis() > (input.settings.catchUpAfterMs ?? DEFAULT_CATCH_UP_MS);
      const clock = late ? now : due;
      const ins = program.instructions[start.pc];
      const state: EnrollmentState = { ...start, loops: { ...start.loops }, pending: null, clock: clock.toISO()! };
      if (p.kind === 'wait') state.pc += 1; // the wait (or a repeat's turn) is over
      if (p.kind === 'wait_for') {
        if (ins?.op !== 'wait_for') throw new InternalError(`enrollment ${input.enrollmentId} waits for an event at ${start.at}, which is not a wait_for`);
        state.pc = ins.onTimeout;
      }
      return run(input, state, clock);
    }
    case 'event': {
      const e = trigger.event;
      for (const rule of program.definition.exit) {
        if ('event' in rule && matchesEvent(rule, e)) return ended('exited', `exit:${e.type}`);
      }
      for (const goal of program.definition.goals) {
        if (matchesEvent(goal, e)) return ended('converted', `goal:${e.type}`);
      }
      const ins = program.instructions[start.pc];
      if (start.pending?.kind !== 'wait_for' || ins?.op !== 'wait_for' || !matchesEvent(ins.matcher, e)) return unchanged();
      if (ins.step && (e.ref?.enrollmentId !== input.enrollmentId || e.ref.stepId !== ins.step)) return unchanged();
      return run(input, { ...start, loops: { ...start.loops }, pending: null, pc: ins.onEvent, clock: now.toISO()! }, now);
    }
    default:
      return assertNever(trigger);
  }
}

/** Touch keys are unique per enrollment: the step id plus the iteration of each enclosing repeat. */
function touchKey(ins: Instruction, loops: Record<string, number>): string {
  return ins.stepId + ins.loops.map((l) => `#${(loops[l] ?? 0) + 1}`).join('');
}

/** Runs instructions from `state.pc` at logical time `t` until the sequence waits or ends. */
function run(input: AdvanceInput, state: EnrollmentState, clockAt: DateTime): AdvanceResult {
  const { program, now, settings } = input;
  const contact: Contact = { ...input.contact, tags: [...input.contact.tags], attributes: { ...input.contact.attributes } };
  const time = timeContextFor(program, contact, settings);
  const actions: Action[] = [];
  const recent: DateTime[] = input.recentEmails.map((s) => DateTime.fromISO(s));
  let t: DateTime = clockAt.setZone(zoneNamed(time.zone));

  const finish = (outcome: EnrollmentOutcome, wakeAt: DateTime | null = null): AdvanceResult => {
    const ins = program.instructions[state.pc];
    state.at = ins ? instructionKey(ins) : null;
    state.clock = t.toISO()!;
    return { changed: true, state, outcome, reason: outcome === 'completed' ? 'completed' : null, actions, wakeAt, stepId: ins?.stepId ?? null };
  };
  const wait = (kind: 'wait' | 'wait_for' | 'deferred', until: DateTime, reason?: 'send_window' | 'frequency_cap'): AdvanceResult => {
    const iso = until.toISO()!;
    state.pending = kind === 'deferred' ? { kind, until: iso, reason: reason ?? 'send_window' } : { kind, until: iso };
    return finish('active', until);
  };

  for (let budget = 0; budget < STEP_BUDGET; budget++) {
    const ins = program.instructions[state.pc];
    if (!ins) return finish('completed');
    switch (ins.op) {
      case 'email': {
        const key = touchKey(ins, state.loops);
        const reach = mayReceive(contact, 'email');
        if (!reach.ok) {
          actions.push({ kind: 'skipped', stepId: ins.stepId, key, reason: reach.reason, dueAt: t.toISO()! });
          state.pc += 1;
          break;
        }
        const slot = applyCaps(t, recent, settings.caps, ins.window, time);
        if (slot.at > t) return wait('deferred', slot.at, slot.reason ?? 'send_window');
        actions.push({ kind: 'email', key, stepId: ins.stepId, template: ins.template, dueAt: t.toISO()! });
        recent.push(t);
        state.pc += 1;
        break;
      }
      case 'mail_task':
        // A piece came back from this address: another would too. Recorded as a skipped touch, visibly.
        if (contact.addressBadAt) {
          actions.push({ kind: 'skipped', stepId: ins.stepId, key: touchKey(ins, state.loops), reason: 'address_returned', dueAt: t.toISO()!, medium: ins.medium, template: ins.template });
          state.pc += 1;
          break;
        }
        actions.push({
          kind: 'mail_task',
          key: touchKey(ins, state.loops),
          stepId: ins.stepId,
          medium: ins.medium,
          template: ins.template,
          dueAt: addDuration(t, ins.due, time).toISO()!,
        });
        state.pc += 1;
        break;
      case 'call_task':
        actions.push({
          kind: 'call_task',
          key: touchKey(ins, state.loops),
          stepId: ins.stepId,
          note: ins.note,
          priority: ins.priority,
          dueAt: addDuration(t, ins.due, time).toISO()!,
        });
        state.pc += 1;
        break;
      case 'notify':
        actions.push({ kind: 'notify', key: touchKey(ins, state.loops), stepId: ins.stepId, note: ins.note, to: ins.to, dueAt: t.toISO()! });
        state.pc += 1;
        break;
      case 'wait': {
        const until = resolveWait(t, ins.wait, time);
        if (until > now) return wait('wait', until);
        t = until; // already due (catching up): carry on without a round trip through the queue
        state.pc += 1;
        break;
      }
      case 'wait_for': {
        const until = addDuration(t, ins.timeout, time);
        if (until > now) return wait('wait_for', until);
        t = until;
        state.pc = ins.onTimeout;
        break;
      }
      case 'loop_enter':
        state.loops[ins.stepId] = 0;
        state.anchors = { ...state.anchors, [ins.stepId]: t.toISO()! };
        state.pc += 1;
        break;
      case 'loop_wait': {
        const k = (state.loops[ins.stepId] ?? 0) + 1;
        const anchor = state.anchors?.[ins.stepId];
        const turn = anchor ? addDuration(isoInstant(anchor), scaleDuration(ins.every, k), time) : undefined;
        // A delay longer than the period (a window closed for days) must not bunch two touches.
        const until = turn && turn > t ? turn : addDuration(t, ins.every, time);
        if (until > now) return wait('wait', until);
        t = until;
        state.pc += 1;
        break;
      }
      case 'loop_test':
        state.pc = (state.loops[ins.stepId] ?? 0) >= ins.times ? ins.exit : state.pc + 1;
        break;
      case 'loop_next':
        state.loops[ins.stepId] = (state.loops[ins.stepId] ?? 0) + 1;
        state.pc = ins.back;
        break;
      case 'branch': {
        const yes = evaluate(ins.condition, { contact, history: input.history, enrollmentId: input.enrollmentId, now: t, time });
        state.pc = yes ? state.pc + 1 : ins.else;
        break;
      }
      case 'jump':
        state.pc = ins.to;
        break;
      case 'tag':
        contact.tags = [...new Set([...contact.tags.filter((x) => !ins.remove.includes(x)), ...ins.add])];
        actions.push({ kind: 'tag', stepId: ins.stepId, add: ins.add, remove: ins.remove });
        state.pc += 1;
        break;
      case 'set':
        Object.assign(contact.attributes, ins.values);
        actions.push({ kind: 'set', stepId: ins.stepId, values: ins.values });
        state.pc += 1;
        break;
      case 'start':
        actions.push({ kind: 'start', stepId: ins.stepId, sequence: ins.sequence });
        state.pc += 1;
        break;
      default:
        assertNever(ins);
    }
  }
  throw new RuleError(`sequence ${program.sequenceId} ran ${STEP_BUDGET} steps without waiting: is a repeat missing its wait?`);
}
