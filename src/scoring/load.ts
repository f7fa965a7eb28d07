import { readFile } from 'node:fs/promises';
import type { FileProblem } from '../errors.js';
import { flattenIssues, formatPath, unknownFieldMessages } from '../sequences/load.js';
import { parseYamlDocument } from '../sequences/yaml-document.js';
import type { ScoringRules } from './rules.js';
import { ruleProblems, scoringFileSchema, toRules } from './rules.js';

/**
 * Reads `scoring.yaml` and reports every problem with file, line and field, the way sequence
 * files are reported. A missing file is no problem: scoring is off (`absent`), the score stays 0
 * and stages move by promotion only.
 */
export type LoadedScoring = { status: 'absent' } | { status: 'ok'; rules: ScoringRules } | { status: 'invalid'; problems: FileProblem[] };

export function validateScoring(text: string, file: string): LoadedScoring {
  const doc = parseYamlDocument(text, file);
  if (!doc.ok) return { status: 'invalid', problems: doc.problems };
  const problemsAt = (list: { path: PropertyKey[]; message: string }[]): FileProblem[] =>
    list
      .map(({ path, message }) => ({ file, path: formatPath(path), line: doc.lineOf(path), message, severity: 'error' as const }))
      .sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
  // An empty file is an empty rule set, not an error.
  const parsed = scoringFileSchema.safeParse(doc.value ?? {}, { error: unknownFieldMessages });
  if (!parsed.success) return { status: 'invalid', problems: problemsAt(flattenIssues(parsed.error.issues)) };
  const more = ruleProblems(parsed.data);
  if (more.length > 0) return { status: 'invalid', problems: problemsAt(more) };
  return { status: 'ok', rules: toRules(parsed.data) };
}

export async function loadScoringFile(file: string): Promise<LoadedScoring> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'absent' };
    return { status: 'invalid', problems: [{ file, path: '', message: `could not be read: ${(err as Error).message}`, severity: 'error' }] };
  }
  return validateScoring(text, file);
}
