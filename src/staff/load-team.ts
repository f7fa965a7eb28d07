import { readFile } from 'node:fs/promises';
import type { TeamParse } from './team-file.js';
import { parseTeamDirectory } from './team-file.js';

/** Reads team.yaml; a file that does not exist means no team directory (value undefined). */
export async function loadTeamDirectory(file: string): Promise<TeamParse | { ok: true; value: undefined }> {
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      return { ok: false, problems: [{ file, path: '', message: `cannot be read: ${(err as Error).message}`, severity: 'error' }] };
    }
  }
  return parseTeamDirectory(text, file);
}
