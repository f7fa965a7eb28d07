import type { Condition, EventMatcher, SequenceDefinition } from './schema.js';
import type { DurationSpec, SendWindow, WaitSpec } from './time-types.js';

/**
 * A sequence compiled to a flat list of instructions with jumps. Nested steps (repeat, wait_for,
 * if) become plain control flow, so the enrollment's position is one number plus loop counters,
 * and the interpreter in advance.ts is a simple loop. Every instruction carries the id of the
 * step it came from: touches, figures and live-edit migration all speak in step ids.
 */
interface Base {
  stepId: string;
  /** Ids of the enclosing repeat steps, outermost first: they make touch keys unique per iteration. */
  loops: string[];
}

export type Instruction =
  | (Base & { op: 'email'; template: string; window: SendWindow | undefined })
  | (Base & { op: 'mail_task'; medium: 'postcard' | 'letter'; template: string; due: DurationSpec })
  | (Base & { op: 'call_task'; note: string; due: DurationSpec; priority: 'normal' | 'high' })
  | (Base & { op: 'wait'; wait: WaitSpec })
  | (Base & { op: 'loop_enter' })
  | (Base & { op: 'loop_wait'; every: DurationSpec })
  | (Base & { op: 'loop_test'; times: number; exit: number })
  | (Base & { op: 'loop_next'; back: number })
  | (Base & { op: 'wait_for'; matcher: EventMatcher; step: string | undefined; timeout: DurationSpec; onEvent: number; onTimeout: number })
  | (Base & { op: 'branch'; condition: Condition; else: number })
  | (Base & { op: 'jump'; to: number })
  | (Base & { op: 'tag'; add: string[]; remove: string[] })
  | (Base & { op: 'set'; values: Record<string, string | number | boolean | null> })
  | (Base & { op: 'start'; sequence: string })
  | (Base & { op: 'notify'; note: string; to: string | undefined });

export type Op = Instruction['op'];

export interface Program {
  sequenceId: string;
  /** Content hash of the definition: the sequence version enrollments are pinned to. */
  version: string;
  definition: SequenceDefinition;
  instructions: Instruction[];
  /** Step ids of email steps, for validating `opened`/`clicked`/`wait_for.step` references. */
  emailSteps: ReadonlySet<string>;
  /** Step id → step kind, in file order: the steps a person sees. */
  steps: ReadonlyMap<string, string>;
  /** Step id → where the step is in the file (`steps[2]`, `steps[3].then[0]`), for messages. */
  stepPaths: ReadonlyMap<string, string>;
}

/** Instructions are identified across versions by (op, step id): a repeat's test and its wait share an id. */
export function instructionKey(i: Instruction): string {
  return `${i.op}:${i.stepId}`;
}
