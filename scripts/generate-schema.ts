import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { renderScoringJsonSchema } from '../src/scoring/file-schema.js';
import { renderSequenceJsonSchema } from '../src/sequences/file-schema.js';

/**
 * Writes schema/sequence.schema.json and schema/scoring.schema.json from their zod schemas
 * (`npm run schema`). The files are committed; test/unit/file-schema.test.ts and
 * test/unit/scoring-load.test.ts fail when they are stale.
 */
const dir = path.resolve(import.meta.dirname, '../schema');
await mkdir(dir, { recursive: true });
for (const [name, text] of [
  ['sequence.schema.json', renderSequenceJsonSchema()],
  ['scoring.schema.json', renderScoringJsonSchema()],
] as const) {
  const out = path.join(dir, name);
  await writeFile(out, text);
  process.stdout.write(`wrote ${path.relative(process.cwd(), out)} (${Buffer.byteLength(text)} bytes)\n`);
}
