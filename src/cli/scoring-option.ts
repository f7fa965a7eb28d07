import type { Command } from 'commander';
import { InputError, ScoringError } from '../errors.js';
import type { ScoringRules } from '../scoring/rules.js';
import { loadScoringFile } from '../scoring/load.js';

/** `--scoring FILE` (default ./scoring.yaml): where the lead scoring rules are. */
export const DEFAULT_SCORING_FILE = './scoring.yaml';

export function addScoringOption(cmd: Command): Command {
  return cmd.option('--scoring <file>', 'lead scoring rules (a missing file means no scoring: scores stay 0)', DEFAULT_SCORING_FILE);
}

/** The rules, or undefined when the file does not exist (scoring off). A file with problems is an error naming each. */
export async function scoringRulesFrom(file: string): Promise<ScoringRules | undefined> {
  const r = await loadScoringFile(file);
  if (r.status === 'invalid') throw new ScoringError(r.problems);
  return r.status === 'ok' ? r.rules : undefined;
}

/** For commands that only make sense with scoring on. */
export async function requiredScoringRules(file: string): Promise<ScoringRules> {
  const rules = await scoringRulesFrom(file);
  if (!rules) throw new InputError(`${file}: no such scoring file (pass --scoring FILE; see examples/scoring.yaml)`);
  return rules;
}
