import type { Command } from 'commander';
import { formatProblem } from '../errors.js';
import type { TeamDirectory } from '../staff/directory.js';
import { loadTeamDirectory } from '../staff/load-team.js';
import { stdout } from './shared.js';

/** `--team FILE` (start, api): the team directory; staff users of the task inbox. */
export function addTeamOption(cmd: Command): Command {
  return cmd.option('--team <file>', 'the team directory: staff users, teams, assignment, SLAs (missing file: no inbox)', './team.yaml');
}

/** The directory (undefined when the file does not exist), or 'invalid' after printing its problems. */
export async function readTeam(file: string): Promise<TeamDirectory | undefined | 'invalid'> {
  const r = await loadTeamDirectory(file);
  if (r.ok) return r.value;
  for (const p of r.problems) stdout.error(formatProblem(p));
  return 'invalid';
}
