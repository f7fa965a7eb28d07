import type { SequenceFile } from './file-schema.js';

/**
 * For sequences written in TypeScript: `export default defineSequence({ ... })` in a file under
 * sequences/. It only gives the object its type (editor completion, compile-time checks); the
 * loader validates it exactly like a YAML file.
 */
export function defineSequence<const T extends SequenceFile>(sequence: T): T {
  return sequence;
}

export type { SequenceFile };
