import { readFile } from 'node:fs/promises';
import type { FormsParse } from './form-config.js';
import { parseForms } from './form-config.js';

/** Reads a forms file (see form-config.ts); a file that does not exist means no forms. */
export async function loadForms(file: string): Promise<FormsParse> {
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      return { ok: false, problems: [{ file, path: '', message: `cannot be read: ${(err as Error).message}`, severity: 'error' }] };
    }
  }
  return parseForms(text, file);
}
