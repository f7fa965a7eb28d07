import type { EnrollmentState } from './advance.js';
import type { Program } from './program.js';
import { instructionKey } from './program.js';

export interface Migration {
  state: EnrollmentState;
  /** Step the enrollment was at in the old version, and where it is in the new one (null: the end). */
  from: string | null;
  to: string | null;
}

/**
 * Moves an in-flight enrollment onto a new version of its sequence by step id. A contact whose
 * step was removed goes to the next step of the old version that still exists, keeping the time
 * it was due, so an edit neither strands nor double-sends anybody. Pure.
 */
export function migrateState(from: Program, to: Program, state: EnrollmentState): Migration {
  const current = from.instructions[state.pc];
  const key = state.at ?? (current ? instructionKey(current) : null);
  const fromStep = current?.stepId ?? null;
  const keys = to.instructions.map(instructionKey);
  const same = key === null ? -1 : keys.indexOf(key);
  if (same >= 0) return { state: { ...state, pc: same, at: key }, from: fromStep, to: to.instructions[same]!.stepId };

  for (let i = state.pc + 1; i < from.instructions.length; i++) {
    const idx = keys.indexOf(instructionKey(from.instructions[i]!));
    if (idx < 0) continue;
    const pending = state.pending ? { kind: 'deferred' as const, until: state.pending.until, reason: 'edited' as const } : null;
    return { state: { ...state, pc: idx, at: keys[idx]!, pending }, from: fromStep, to: to.instructions[idx]!.stepId };
  }
  const pending = state.pending ? { kind: 'deferred' as const, until: state.pending.until, reason: 'edited' as const } : null;
  return { state: { ...state, pc: to.instructions.length, at: null, pending }, from: fromStep, to: null };
}
