import { createHash } from 'node:crypto';
import type { Condition, SequenceDefinition, Step } from './schema.js';
import type { Instruction, Program } from './program.js';
import { InternalError } from '../errors.js';

export interface CompileProblem {
  path: string;
  message: string;
}

export type CompileResult = { ok: true; program: Program } | { ok: false; problems: CompileProblem[] };

/** Stable JSON (sorted keys) so the version hash depends on content only, not key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function versionOf(def: SequenceDefinition): string {
  return createHash('sha256').update(canonicalJson(def)).digest('hex').slice(0, 12);
}

/** The id a step gets when the file gives none: its template for touches, its kind otherwise. */
function derivedId(step: Step): string {
  switch (step.kind) {
    case 'email':
    case 'postcard':
    case 'letter':
      return step.template.replaceAll('/', '-');
    case 'wait':
      return 'wait';
    case 'call':
    case 'repeat':
    case 'wait_for':
    case 'if':
    case 'tag':
    case 'untag':
    case 'set':
    case 'start':
    case 'notify':
      return step.kind;
    default:
      return assertNever(step);
  }
}

export function assertNever(x: never): never {
  throw new InternalError(`unhandled case: ${JSON.stringify(x)}`);
}

function conditionRefs(c: Condition): string[] {
  if ('all' in c) return c.all.flatMap(conditionRefs);
  if ('any' in c) return c.any.flatMap(conditionRefs);
  if ('not' in c) return conditionRefs(c.not);
  if ('opened' in c) return [c.opened];
  if ('clicked' in c) return [c.clicked];
  return [];
}

export function compileSequence(def: SequenceDefinition): CompileResult {
  const problems: CompileProblem[] = [];
  const ids = new Map<Step, string>();
  const used = new Set<string>();
  const stepKinds = new Map<string, string>();
  const stepPaths = new Map<string, string>();
  const emailSteps = new Set<string>();
  const taskSteps = new Set<string>();
  const references: { path: string; id: string; tasks: boolean }[] = [];

  // Explicit ids first, so a derived id never takes a name the marketer chose further down.
  const visit = (list: Step[], path: string, fn: (s: Step, p: string, prev: Step | undefined) => void): void => {
    list.forEach((s, i) => {
      const p = `${path}[${i}]`;
      fn(s, p, list[i - 1]);
      if (s.kind === 'repeat') visit(s.steps, `${p}.repeat.steps`, fn);
      if (s.kind === 'wait_for') {
        visit(s.on_event, `${p}.on_event`, fn);
        visit(s.on_timeout, `${p}.on_timeout`, fn);
      }
      if (s.kind === 'if') {
        visit(s.then, `${p}.then`, fn);
        visit(s.else, `${p}.else`, fn);
      }
    });
  };
  visit(def.steps, 'steps', (s, p) => {
    if (!s.id) return;
    if (used.has(s.id)) problems.push({ path: `${p}.id`, message: `step id "${s.id}" is used twice` });
    used.add(s.id);
    ids.set(s, s.id);
  });
  visit(def.steps, 'steps', (s, p, prev) => {
    if (!ids.has(s)) {
      // A wait is named after the step it follows, so inserting a step elsewhere does not rename it.
      const base = s.kind === 'wait' && prev ? `${ids.get(prev)}-wait` : derivedId(s);
      let id = base;
      for (let n = 2; used.has(id); n++) id = `${base}-${n}`;
      used.add(id);
      ids.set(s, id);
    }
    const id = ids.get(s)!;
    stepKinds.set(id, s.kind);
    stepPaths.set(id, p);
    if (s.kind === 'email') emailSteps.add(id);
    if (s.kind === 'call' || s.kind === 'postcard' || s.kind === 'letter' || s.kind === 'notify') taskSteps.add(id);
    if (s.kind === 'wait_for' && s.step) references.push({ path: `${p}.wait_for.step`, id: s.step, tasks: true });
    if (s.kind === 'if') for (const r of conditionRefs(s.condition)) references.push({ path: `${p}.if`, id: r, tasks: false });
  });
  for (const r of references) {
    // A wait_for may also name a staff task's step: its task_completed event is tied to that step.
    if (emailSteps.has(r.id) || (r.tasks && taskSteps.has(r.id))) continue;
    const known = [...emailSteps].join(', ') || 'none';
    if (r.tasks) {
      problems.push({
        path: r.path,
        message: `"${r.id}" is not the id of an email or staff task step in this sequence (email steps: ${known}; task steps: ${[...taskSteps].join(', ') || 'none'})`,
      });
    } else {
      problems.push({ path: r.path, message: `"${r.id}" is not the id of an email step in this sequence (email steps: ${known})` });
    }
  }
  if (problems.length > 0) return { ok: false, problems };

  const out: Instruction[] = [];
  const emit = (i: Instruction): number => out.push(i) - 1;
  const patch = (at: number, fields: Partial<Record<'exit' | 'else' | 'to' | 'onEvent' | 'onTimeout', number>>): void => {
    Object.assign(out[at]!, fields);
  };

  const emitList = (list: Step[], loops: string[]): void => {
    for (const s of list) {
      const stepId = ids.get(s)!;
      const base = { stepId, loops };
      switch (s.kind) {
        case 'email':
          emit({ ...base, op: 'email', template: s.template, window: s.send_window ?? def.send_window });
          break;
        case 'postcard':
        case 'letter':
          emit({ ...base, op: 'mail_task', medium: s.kind, template: s.template, due: s.due });
          break;
        case 'call':
          emit({ ...base, op: 'call_task', note: s.note, due: s.due, priority: s.priority });
          break;
        case 'wait':
          emit({ ...base, op: 'wait', wait: s.wait });
          break;
        case 'repeat': {
          // Each iteration waits until its turn (k × every after the repeat began), then runs the
          // body: 18 monthly emails span 18 months and keep their day of the month.
          emit({ ...base, op: 'loop_enter' });
          const test = emit({ ...base, op: 'loop_test', times: s.times, exit: -1 });
          emit({ ...base, op: 'loop_wait', every: s.every });
          emitList(s.steps, [...loops, stepId]);
          emit({ ...base, op: 'loop_next', back: test });
          patch(test, { exit: out.length });
          break;
        }
        case 'wait_for': {
          const at = emit({ ...base, op: 'wait_for', matcher: s.matcher, step: s.step, timeout: s.timeout, onEvent: -1, onTimeout: -1 });
          patch(at, { onEvent: out.length });
          emitList(s.on_event, loops);
          const jump = emit({ ...base, op: 'jump', to: -1 });
          patch(at, { onTimeout: out.length });
          emitList(s.on_timeout, loops);
          patch(jump, { to: out.length });
          break;
        }
        case 'if': {
          const at = emit({ ...base, op: 'branch', condition: s.condition, else: -1 });
          emitList(s.then, loops);
          const jump = emit({ ...base, op: 'jump', to: -1 });
          patch(at, { else: out.length });
          emitList(s.else, loops);
          patch(jump, { to: out.length });
          break;
        }
        case 'tag':
          emit({ ...base, op: 'tag', add: s.tags, remove: [] });
          break;
        case 'untag':
          emit({ ...base, op: 'tag', add: [], remove: s.tags });
          break;
        case 'set':
          emit({ ...base, op: 'set', values: s.values });
          break;
        case 'start':
          emit({ ...base, op: 'start', sequence: s.sequence });
          break;
        case 'notify':
          emit({ ...base, op: 'notify', note: s.note, to: s.to });
          break;
        default:
          assertNever(s);
      }
    }
  };
  emitList(def.steps, []);

  return {
    ok: true,
    program: {
      sequenceId: def.id,
      version: versionOf(def),
      definition: def,
      instructions: out,
      emailSteps,
      steps: stepKinds,
      stepPaths,
    },
  };
}
