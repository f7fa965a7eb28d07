import type { Command } from 'commander';
import { formatProblem } from '../errors.js';
import type { Topic } from '../sequences/topics.js';
import { loadTopicsFile } from '../sequences/topics.js';
import { stdout } from './shared.js';

/** `--topics FILE` (start, api, validate): the topics of the preference page and of `topic:` in sequences. */
export function addTopicsOption(cmd: Command): Command {
  return cmd.option('--topics <file>', 'topics people subscribe to one by one (missing file: no topics)', './topics.yaml');
}

/** The topics of the file, or undefined after printing its problems (the command exits 1). */
export async function readTopics(file: string): Promise<Topic[] | undefined> {
  const r = await loadTopicsFile(file);
  if (r.ok) return r.topics;
  for (const p of r.problems) stdout.error(formatProblem(p));
  return undefined;
}
