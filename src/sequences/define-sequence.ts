import type { SequenceFile as FileInput } from './file-schema.js';
import type { STEP_KINDS } from './schema.js';

/**
 * For sequences written in TypeScript: `export default defineSequence({ ... })` in a file under
 * sequences/. It only gives the object its type (editor completion, compile-time checks); the
 * loader validates it exactly like a YAML file.
 *
 * The zod file schema types steps and conditions as `unknown` (they are recursive), so the step
 * types are spelled out here: without them `steps: [42, { emial: 'welcome' }]` would compile.
 * Strings stay strings (a duration's grammar is `nurture validate`'s job).
 */
export function defineSequence<const T extends SequenceFile>(sequence: T): T {
  return sequence;
}

type Duration = string;
type TemplateName = string;
type StepId = string;
type TimeOfDay = string;
type EventType = string;
type Days = string | readonly string[];
type Scalar = string | number | boolean;
type Where = Readonly<Record<string, Scalar | readonly Scalar[]>>;
type SendWindow = { days?: Days; from: TimeOfDay; to: TimeOfDay };
type Steps = readonly SequenceStep[];

export type SequenceCondition =
  | { all: readonly SequenceCondition[] }
  | { any: readonly SequenceCondition[] }
  | { not: SequenceCondition }
  | { tag: string }
  | { attribute: string; equals: Scalar }
  | { attribute: string; in: readonly Scalar[] }
  | { attribute: string; exists: boolean }
  | { has: 'firstName' | 'lastName' | 'phone' | 'address' }
  | { opened: StepId }
  | { clicked: StepId }
  | { score: { gte?: number; gt?: number; lte?: number; lt?: number } }
  | { event: EventType; where?: Where; within?: Duration };

type MailPiece<K extends 'postcard' | 'letter'> = { [P in K]: TemplateName | { template: TemplateName; due?: Duration } } & { due?: Duration };

interface StepsByKind {
  email: { email: TemplateName | { template: TemplateName }; send_window?: SendWindow };
  postcard: MailPiece<'postcard'>;
  letter: MailPiece<'letter'>;
  call: { call: string | { note: string; due?: Duration; priority?: 'normal' | 'high' } };
  wait: { wait: Duration | { for: Duration } | { until: TimeOfDay; on?: Days } };
  repeat: { repeat: { every: Duration; times: number; steps: Steps } };
  wait_for: { wait_for: { event: EventType; where?: Where; step?: StepId; timeout: Duration }; on_event?: Steps; on_timeout?: Steps };
  if: { if: SequenceCondition; then: Steps; else?: Steps };
  tag: { tag: string | readonly string[] };
  untag: { untag: string | readonly string[] };
  set: { set: Readonly<Record<string, Scalar | null>> };
  start: { start: StepId };
  notify: { notify: string | { note: string; to?: string } };
}

/** Indexed by STEP_KINDS: a kind added to the schema without a type here fails to compile. */
type StepKind = (typeof STEP_KINDS)[number];
export type SequenceStep = { [K in StepKind]: StepsByKind[K] & { id?: StepId } }[StepKind];

export type SequenceFile = Omit<FileInput, 'steps'> & { steps: readonly [SequenceStep, ...SequenceStep[]] };
