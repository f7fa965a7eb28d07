import type { Command } from 'commander';
import type { FileProblem } from '../errors.js';
import { ConfigError, InputError, formatProblem } from '../errors.js';
import type { TeamDirectory } from '../staff/directory.js';
import { loadTeamDirectory } from '../staff/load-team.js';
import { stdout } from './shared.js';

export const DEFAULT_DIRECTORY_FILE = './team.yaml';

/** `--directory FILE` (start, worker, api, validate, users, tasks): the team directory, team.yaml. */
export function addDirectoryOption(cmd: Command): Command {
  return cmd.option('--directory <file>', 'team directory: staff, teams, assignment rules, SLAs (a file that does not exist: no directory, tasks stay unassigned)', DEFAULT_DIRECTORY_FILE);
}

export type DirectoryCheck = { status: 'ok'; directory: TeamDirectory } | { status: 'absent' } | { status: 'invalid'; problems: FileProblem[] };

export async function checkDirectory(file: string): Promise<DirectoryCheck> {
  const r = await loadTeamDirectory(file);
  if (!r.ok) return { status: 'invalid', problems: r.problems };
  return r.value ? { status: 'ok', directory: r.value } : { status: 'absent' };
}

/**
 * The directory for a process that starts: undefined without a file, `false` after printing its
 * problems (the command refuses to start, as it does for forms).
 */
export async function readDirectory(file: string): Promise<TeamDirectory | undefined | false> {
  const r = await checkDirectory(file);
  if (r.status === 'invalid') {
    for (const p of r.problems) stdout.error(formatProblem(p));
    stdout.error(`not starting: ${r.problems.length} problem(s) in ${file} (run \`nurture validate --directory ${file}\`)`);
    return false;
  }
  // Only the default may be missing: a path someone typed that is not there is a typo, and
  // starting without assignment, SLAs and the inbox because of it would fail silently.
  if (r.status === 'absent' && file !== DEFAULT_DIRECTORY_FILE) {
    stdout.error(`not starting: ${file}: no such file (--directory names the team directory; leave it out to run without one)`);
    return false;
  }
  return r.status === 'ok' ? r.directory : undefined;
}

/** One line about the directory, for validate and the start log. */
export function describeDirectory(d: TeamDirectory): string {
  return `${d.users.length} user(s), ${d.teams.length} team(s), ${d.rules.length} assignment rule(s), ${d.slas.length} SLA rule(s)${d.fallback ? `, fallback ${d.fallback}` : ''}`;
}

/** The directory, or undefined when the file does not exist. A file with problems is an error naming each. */
export async function teamDirectoryFrom(file: string): Promise<TeamDirectory | undefined> {
  const r = await checkDirectory(file);
  if (r.status === 'invalid') throw new ConfigError(r.problems.map(formatProblem).join('\n'));
  return r.status === 'ok' ? r.directory : undefined;
}

/** For commands that cannot work without one. */
export async function requiredTeamDirectory(file: string, what: string): Promise<TeamDirectory> {
  const dir = await teamDirectoryFrom(file);
  if (!dir) throw new InputError(`${what} needs the team directory, and ${file} does not exist: pass --directory FILE (see examples/team.yaml)`);
  return dir;
}
