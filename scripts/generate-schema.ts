import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { renderSequenceJsonSchema } from '../src/sequences/file-schema.js';

/**
 * Writes schema/sequence.schema.json from src/sequences/file-schema.ts (`npm run schema`).
 * The file is committed; test/unit/file-schema.test.ts fails when it is stale.
 */
const out = path.resolve(import.meta.dirname, '../schema/sequence.schema.json');
const text = renderSequenceJsonSchema();
await mkdir(path.dirname(out), { recursive: true });
await writeFile(out, text);
process.stdout.write(`wrote ${path.relative(process.cwd(), out)} (${Buffer.byteLength(text)} bytes)\n`);
