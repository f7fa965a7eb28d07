import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { FileProblem } from '../errors.js';
import { compileSequence } from './compile.js';
import type { Program } from './program.js';
import { BUILT_IN_EVENTS, sequenceSchema } from './schema.js';
import type { Condition, SequenceDefinition, Step } from './schema.js';
import { closestNames, didYouMean } from './suggest.js';
import { parseYamlDocument } from './yaml-document.js';

/**
 * Reads sequence files (YAML, or TypeScript/JavaScript exporting `defineSequence(...)` as
 * default) and turns every problem into a FileProblem that names file, line and field.
 */

export interface LoadedSequence {
  file: string;
  program: Program;
  /** The line of a path (`steps[2].start`) in the file, when it is YAML. */
  lineOf?: ((path: string) => number | undefined) | undefined;
}

export interface LoadResult {
  sequences: LoadedSequence[];
  problems: FileProblem[];
}

const YAML_EXT = new Set(['.yaml', '.yml']);
const CODE_EXT = new Set(['.ts', '.mts', '.js', '.mjs']);

export function formatPath(p: readonly PropertyKey[]): string {
  return p.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join('');
}

type Issue = z.core.$ZodIssue;

/**
 * zod's unknown-key issue lists the keys but not the fields the object knows; its message is
 * built where the object schema is at hand, one line per key, and flattenIssues splits it.
 * `kind` is the loader's own field (normaliseStep), never one to suggest.
 */
export const unknownFieldMessages: z.core.$ZodErrorMap = (issue) => {
  if (issue.code !== 'unrecognized_keys' || !(issue.inst instanceof z.core.$ZodObject)) return undefined;
  const known = Object.keys(issue.inst._zod.def.shape).filter((k) => k !== 'kind');
  return issue.keys.map((key) => `unknown field "${key}"${didYouMean(closestNames(key, known))}`).join('\n');
};

/** Picks, inside union errors, the branch that got furthest: its message is the one a person needs. */
export function flattenIssues(issues: readonly Issue[], base: readonly PropertyKey[] = []): { path: PropertyKey[]; message: string }[] {
  const out: { path: PropertyKey[]; message: string }[] = [];
  for (const issue of issues) {
    const at = [...base, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 1) {
      const unknown = unknownInEveryBranch(issue.errors);
      if (unknown.length > 0) {
        out.push(...unknown.map(({ key, message }) => ({ path: [...at, key], message })));
        continue;
      }
    }
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // A branch that does not know the keys given is a worse fit than one that does: half a point off.
      const score = (branch: readonly Issue[]): number =>
        branch.some((i) => i.code === 'invalid_type' && i.path.length === 0)
          ? 0
          : 1 + Math.max(0, ...branch.map((i) => i.path.length)) - (branch.some((i) => i.code === 'unrecognized_keys' && i.path.length === 0) ? 0.5 : 0);
      const best = [...issue.errors].sort((a, b) => score(b) - score(a))[0]!;
      if (score(best) === 0) {
        out.push({ path: at, message: describeUnionMismatch(issue) });
      } else {
        out.push(...flattenIssues(best, at));
      }
      continue;
    }
    if (issue.code === 'unrecognized_keys') {
      const messages = issue.message.split('\n');
      issue.keys.forEach((key, i) => {
        const message = messages.length === issue.keys.length ? messages[i]! : `unknown field "${key}"`;
        out.push({ path: [...at, key], message });
      });
      continue;
    }
    if (issue.code === 'invalid_type' && issue.message.includes('received undefined')) {
      out.push({ path: at, message: 'is required' });
      continue;
    }
    out.push({ path: at, message: issue.message });
  }
  return out;
}

/**
 * Keys that no form of a union knows (`if: { tg: vip }`): whichever form was meant, that key is
 * the mistake, and "all is required" from the first form would mislead. The message is the one of
 * the form with the closest field, if any form has one.
 */
function unknownInEveryBranch(branches: readonly (readonly Issue[])[]): { key: string; message: string }[] {
  const perBranch = branches.map((b) => b.find((i) => i.code === 'unrecognized_keys' && i.path.length === 0));
  if (perBranch.some((i) => i === undefined)) return [];
  const unknowns = perBranch as (Issue & { code: 'unrecognized_keys' })[];
  const messageFor = (u: Issue & { code: 'unrecognized_keys' }, key: string) => {
    const lines = u.message.split('\n');
    return lines.length === u.keys.length ? lines[u.keys.indexOf(key)]! : `unknown field "${key}"`;
  };
  return unknowns[0]!.keys
    .filter((key) => unknowns.every((u) => u.keys.includes(key)))
    .map((key) => {
      const guesses = unknowns.flatMap((u) => [...messageFor(u, key).matchAll(/"([^"]+)"/g)].map((m) => m[1]!).filter((g) => g !== key));
      return { key, message: `unknown field "${key}"${didYouMean(closestNames(key, guesses))}` };
    });
}

function describeUnionMismatch(issue: Issue & { code: 'invalid_union' }): string {
  const mismatches = issue.errors.flat().filter((i) => i.code === 'invalid_type');
  if (mismatches.length > 0 && mismatches.every((i) => i.message.includes('received undefined'))) return 'is required';
  const expected = new Set(issue.errors.flatMap((b) => b.filter((i) => i.code === 'invalid_type').map((i) => (i as { expected: string }).expected)));
  return expected.size > 0 ? `has the wrong type (expected ${[...expected].join(' or ')})` : issue.message;
}

/** Validates one parsed document; `lineOf` maps a path to its line when the source is YAML. */
export function validateSequence(
  raw: unknown,
  file: string,
  lineOf: (p: readonly PropertyKey[]) => number | undefined = () => undefined,
): { program?: Program; problems: FileProblem[]; lineOf?: (path: string) => number | undefined } {
  const parsed = sequenceSchema.safeParse(raw, { error: unknownFieldMessages });
  if (!parsed.success) {
    const problems = flattenIssues(parsed.error.issues).map(({ path: p, message }) => ({
      file,
      path: formatPath(p),
      line: lineOf(p),
      message,
      severity: 'error' as const,
    }));
    // In file order, as a person fixes them (zod reports in schema order); same line: as found.
    problems.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
    return { problems };
  }
  const compiled = compileSequence(parsed.data);
  if (!compiled.ok) {
    return {
      problems: compiled.problems.map((p) => ({ file, path: p.path, line: lineOfDotted(p.path, lineOf), message: p.message, severity: 'error' as const })),
    };
  }
  const warnings = eventTypeTypos(parsed.data, raw).map(({ path: p, message }) => ({
    file,
    path: p,
    line: lineOfDotted(p, lineOf),
    message,
    severity: 'warning' as const,
  }));
  return { program: compiled.program, problems: warnings, lineOf: (dotted) => lineOfDotted(dotted, lineOf) };
}

/**
 * Event types one typo away from a built-in one ("unsubscibed"): valid names, since producers
 * send their own types, but a sequence that waits for an event nobody sends waits forever.
 */
function eventTypeTypos(def: SequenceDefinition, raw: unknown): { path: string; message: string }[] {
  const found: { path: string; event: string }[] = [];
  const single = (key: string) => raw !== null && typeof raw === 'object' && !Array.isArray((raw as Record<string, unknown>)[key]);
  def.trigger.forEach((t, i) => found.push({ path: single('trigger') ? 'trigger.event' : `trigger[${i}].event`, event: t.event }));
  def.exit.forEach((e, i) => 'event' in e && found.push({ path: `exit[${i}].event`, event: e.event }));
  def.goals.forEach((g, i) => found.push({ path: `goals[${i}].event`, event: g.event }));
  const condition = (c: Condition, p: string): void => {
    if ('all' in c) c.all.forEach((x, i) => condition(x, `${p}.all[${i}]`));
    else if ('any' in c) c.any.forEach((x, i) => condition(x, `${p}.any[${i}]`));
    else if ('not' in c) condition(c.not, `${p}.not`);
    else if ('event' in c) found.push({ path: `${p}.event`, event: c.event });
  };
  const steps = (list: Step[], p: string): void =>
    list.forEach((s, i) => {
      const at = `${p}[${i}]`;
      if (s.kind === 'repeat') steps(s.steps, `${at}.repeat.steps`);
      if (s.kind === 'wait_for') {
        found.push({ path: `${at}.wait_for.event`, event: s.matcher.event });
        steps(s.on_event, `${at}.on_event`);
        steps(s.on_timeout, `${at}.on_timeout`);
      }
      if (s.kind === 'if') {
        condition(s.condition, `${at}.if`);
        steps(s.then, `${at}.then`);
        steps(s.else, `${at}.else`);
      }
    });
  steps(def.steps, 'steps');
  const builtIn: readonly string[] = BUILT_IN_EVENTS;
  return found.flatMap(({ path: p, event }) => {
    const near = builtIn.includes(event) ? [] : closestNames(event, builtIn);
    return near.length === 0
      ? []
      : [{ path: p, message: `"${event}" is not a built-in event${didYouMean(near)} (fine if your own producer sends "${event}")` }];
  });
}

function lineOfDotted(dotted: string, lineOf: (p: readonly PropertyKey[]) => number | undefined): number | undefined {
  const keys: PropertyKey[] = [];
  for (const m of dotted.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) keys.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return lineOf(keys);
}

export async function loadSequenceFile(
  file: string,
  displayName = file,
): Promise<{ program?: Program; problems: FileProblem[]; lineOf?: (path: string) => number | undefined }> {
  const ext = path.extname(file);
  if (YAML_EXT.has(ext)) {
    const doc = parseYamlDocument(await readFile(file, 'utf8'), displayName);
    return doc.ok ? validateSequence(doc.value, displayName, doc.lineOf) : { problems: doc.problems };
  }
  if (CODE_EXT.has(ext)) {
    let mod: unknown;
    try {
      // Loaded only for TypeScript sequences: most projects never need it.
      const { createJiti } = await import('jiti');
      // `import { defineSequence } from 'nurture-engine'` is this very engine's, installed locally or not.
      const jiti = createJiti(import.meta.url, { moduleCache: false, alias: { 'nurture-engine': fileURLToPath(new URL('../index.js', import.meta.url)) } });
      mod = await jiti.import(path.resolve(file), { default: true });
    } catch (err) {
      return { problems: [{ file: displayName, path: '', message: `could not be loaded: ${(err as Error).message}`, severity: 'error' }] };
    }
    return validateSequence(mod, displayName);
  }
  return { problems: [{ file: displayName, path: '', message: `is not a sequence file (use .yaml, .yml, .ts or .js)`, severity: 'error' }] };
}

/** Loads every sequence file under `dir` (not recursive). Duplicate ids are problems too. */
export async function loadSequences(dir: string): Promise<LoadResult> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => YAML_EXT.has(path.extname(n)) || CODE_EXT.has(path.extname(n))).sort();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const message = e.code === 'ENOENT' ? 'directory does not exist (pass --sequences DIR)' : e.message;
    return { sequences: [], problems: [{ file: dir, path: '', message, severity: 'error' }] };
  }
  const sequences: LoadedSequence[] = [];
  const problems: FileProblem[] = [];
  const byId = new Map<string, string>();
  for (const name of names) {
    const file = path.join(dir, name);
    const r = await loadSequenceFile(file, file);
    problems.push(...r.problems);
    if (!r.program) continue;
    const other = byId.get(r.program.sequenceId);
    if (other) {
      problems.push({ file, path: 'id', message: `sequence id "${r.program.sequenceId}" is already used by ${other}`, severity: 'error' });
      continue;
    }
    byId.set(r.program.sequenceId, file);
    sequences.push({ file, program: r.program, lineOf: r.lineOf });
  }
  if (names.length === 0) problems.push({ file: dir, path: '', message: 'no sequence files (*.yaml, *.yml, *.ts) found', severity: 'error' });
  return { sequences, problems };
}
