import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { FileProblem } from '../errors.js';
import { formatPath } from './load.js';
import { SLUG } from './names.js';
import { closestNames, didYouMean } from './suggest.js';
import { parseYamlDocument } from './yaml-document.js';

/**
 * Topics a person can subscribe to one by one on the preference page (`topics.yaml`), and that
 * sequences name (`topic: newsletter`): leaving a topic stops that topic's emails only.
 */
export interface Topic {
  id: string;
  name: string;
  description: string | undefined;
}

const topicSchema = z.strictObject({
  id: z.string().regex(SLUG, 'use lower-case letters, digits, "-" or "_" (e.g. "newsletter")'),
  name: z.string().trim().min(1, 'is empty: give the name people see on the preference page'),
  description: z.string().trim().optional(),
});

const topicsFileSchema = z.strictObject({
  topics: z.array(topicSchema),
});

export type TopicsLoad = { ok: true; topics: Topic[] } | { ok: false; problems: FileProblem[] };

/** Parses the text of a topics file; every problem names the file, the line and the field. */
export function parseTopics(text: string, file: string): TopicsLoad {
  const doc = parseYamlDocument(text, file);
  if (!doc.ok) return doc;
  const parsed = topicsFileSchema.safeParse(doc.value ?? {});
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.flatMap((i) => {
        if (i.code === 'unrecognized_keys') {
          const known = i.path.length === 0 ? ['topics'] : Object.keys(topicSchema.shape);
          return i.keys.map((key) => {
            const at = [...i.path, key];
            return { file, path: formatPath(at), line: doc.lineOf(at), message: `unknown field "${key}"${didYouMean(closestNames(key, known))}`, severity: 'error' as const };
          });
        }
        const missing = i.code === 'invalid_type' && i.input === undefined;
        const message = missing ? `is required${i.path.at(-1) === 'name' ? ': the name people see on the preference page' : ''}` : i.message;
        return [{ file, path: formatPath(i.path), line: doc.lineOf(i.path), message, severity: 'error' as const }];
      }),
    };
  }
  const problems: FileProblem[] = [];
  const seen = new Set<string>();
  parsed.data.topics.forEach((t, i) => {
    if (seen.has(t.id)) {
      problems.push({ file, path: `topics[${i}].id`, line: doc.lineOf(['topics', i, 'id']), message: `topic "${t.id}" is declared twice`, severity: 'error' });
    }
    seen.add(t.id);
  });
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, topics: parsed.data.topics.map((t) => ({ id: t.id, name: t.name, description: t.description })) };
}

/** Reads a topics file; a file that does not exist means no topics (every sequence is untopical). */
export async function loadTopicsFile(file: string): Promise<TopicsLoad> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, topics: [] };
    return { ok: false, problems: [{ file, path: '', message: `cannot be read: ${(err as Error).message}`, severity: 'error' }] };
  }
  return parseTopics(text, file);
}
