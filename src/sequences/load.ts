import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import type { FileProblem } from '../errors.js';
import { compileSequence } from './compile.js';
import type { Program } from './program.js';
import { sequenceSchema } from './schema.js';
import { parseYamlDocument } from './yaml-document.js';

/**
 * Reads sequence files (YAML, or TypeScript/JavaScript exporting `defineSequence(...)` as
 * default) and turns every problem into a FileProblem that names file, line and field.
 */

export interface LoadedSequence {
  file: string;
  program: Program;
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

/** Picks, inside union errors, the branch that got furthest: its message is the one a person needs. */
function flattenIssues(issues: readonly Issue[], base: readonly PropertyKey[] = []): { path: PropertyKey[]; message: string }[] {
  const out: { path: PropertyKey[]; message: string }[] = [];
  for (const issue of issues) {
    const at = [...base, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const score = (branch: readonly Issue[]): number =>
        branch.some((i) => i.code === 'invalid_type' && i.path.length === 0) ? 0 : 1 + Math.max(0, ...branch.map((i) => i.path.length));
      const best = [...issue.errors].sort((a, b) => score(b) - score(a))[0]!;
      if (score(best) === 0) {
        out.push({ path: at, message: describeUnionMismatch(issue) });
      } else {
        out.push(...flattenIssues(best, at));
      }
      continue;
    }
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: [...at, key], message: `unknown field "${key}"` });
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

function describeUnionMismatch(issue: Issue & { code: 'invalid_union' }): string {
  const expected = new Set(issue.errors.flatMap((b) => b.filter((i) => i.code === 'invalid_type').map((i) => (i as { expected: string }).expected)));
  return expected.size > 0 ? `has the wrong type (expected ${[...expected].join(' or ')})` : issue.message;
}

/** Validates one parsed document; `lineOf` maps a path to its line when the source is YAML. */
export function validateSequence(
  raw: unknown,
  file: string,
  lineOf: (p: readonly PropertyKey[]) => number | undefined = () => undefined,
): { program?: Program; problems: FileProblem[] } {
  const parsed = sequenceSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = flattenIssues(parsed.error.issues).map(({ path: p, message }) => ({
      file,
      path: formatPath(p),
      line: lineOf(p),
      message,
      severity: 'error' as const,
    }));
    return { problems };
  }
  const compiled = compileSequence(parsed.data);
  if (!compiled.ok) {
    return {
      problems: compiled.problems.map((p) => ({ file, path: p.path, line: lineOfDotted(p.path, lineOf), message: p.message, severity: 'error' as const })),
    };
  }
  return { program: compiled.program, problems: [] };
}

function lineOfDotted(dotted: string, lineOf: (p: readonly PropertyKey[]) => number | undefined): number | undefined {
  const keys: PropertyKey[] = [];
  for (const m of dotted.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) keys.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return lineOf(keys);
}

export async function loadSequenceFile(file: string, displayName = file): Promise<{ program?: Program; problems: FileProblem[] }> {
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
    sequences.push({ file, program: r.program });
  }
  if (names.length === 0) problems.push({ file: dir, path: '', message: 'no sequence files (*.yaml, *.yml, *.ts) found', severity: 'error' });
  return { sequences, problems };
}
