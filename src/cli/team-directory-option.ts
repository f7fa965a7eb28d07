import type { Command } from 'commander';
import { ConfigError, InputError, formatProblem } from '../errors.js';
import type { TeamDirectory } from '../staff/directory.js';
import { loadTeamDirectory } from '../staff/load-team.js';

/** `--directory FILE` (default ./team.yaml): who the staff users are and in which teams. */
export const DEFAULT_DIRECTORY_FILE = './team.yaml';

export function addDirectoryOption(cmd: Command): Command {
  return cmd.option('--directory <file>', 'the team directory: staff users and their teams', DEFAULT_DIRECTORY_FILE);
}

/** The directory, or undefined when the file does not exist. A file with problems is an error naming each. */
export async function teamDirectoryFrom(file: string): Promise<TeamDirectory | undefined> {
  const r = await loadTeamDirectory(file);
  if (!r.ok) throw new ConfigError(r.problems.map(formatProblem).join('\n'));
  return r.value;
}

/** For commands that cannot work without one. */
export async function requiredTeamDirectory(file: string, what: string): Promise<TeamDirectory> {
  const dir = await teamDirectoryFrom(file);
  if (!dir) throw new InputError(`${what} needs the team directory, and ${file} does not exist: pass --directory FILE (see examples/team.yaml)`);
  return dir;
}
