import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { versionOf } from '../sequences/compile.js';
import type { LoadedSequence } from '../sequences/load.js';
import type { Program } from '../sequences/program.js';
import type { CompiledTemplate } from '../templates/compile.js';
import type { StoredTemplate, TemplateSource } from '../templates/template-files.js';
import { loadTemplate, storedTemplate } from '../templates/template-files.js';
import type { EngineDeps } from './engine-deps.js';

/**
 * Templates travel with the sequence version that uses them. At publish, the source of every
 * template a version names (with its layout and the partials it uses: they are part of its
 * TemplateSource) is stored beside it, and the version id covers their content: an
 * edit of a template alone makes a new version, so a contact pinned with `on_edit: stay` keeps
 * the text it was published with, and every process renders the same thing without reading
 * the templates folder.
 */

/** A sequence ready to publish: when `templates` is missing, they are read from the templates folder. */
export interface PublishableSequence extends LoadedSequence {
  templates?: Record<string, StoredTemplate>;
}

export function templateNames(program: Program): string[] {
  const names = new Set<string>();
  for (const i of program.instructions) if (i.op === 'email' || i.op === 'mail_task') names.add(i.template);
  return [...names].sort();
}

export async function readTemplates(dir: string, program: Program): Promise<Record<string, StoredTemplate>> {
  const out: Record<string, StoredTemplate> = {};
  for (const name of templateNames(program)) out[name] = storedTemplate(await loadTemplate(dir, name));
  return out;
}

/**
 * The version id of a definition published with these templates: the definition's own hash
 * when it names none (as before templates were stored), otherwise a hash over both.
 */
export function publishedVersion(program: Program, templates: Readonly<Record<string, StoredTemplate>>): string {
  const base = versionOf(program.definition);
  const names = Object.keys(templates).sort();
  if (names.length === 0) return base;
  const h = createHash('sha256').update(base);
  for (const n of names) h.update(`\n${n}=${templates[n]!.hash}`);
  return h.digest('hex').slice(0, 12);
}

/** The sequence with its templates attached and its version id covering them. */
export function withTemplates(s: LoadedSequence, templates: Record<string, StoredTemplate>): PublishableSequence {
  return { ...s, program: { ...s.program, version: publishedVersion(s.program, templates) }, templates };
}

/** For validation: attaches the sources already read, when every template the sequence names was readable. */
export function withSources(s: LoadedSequence, sources: ReadonlyMap<string, TemplateSource>): PublishableSequence {
  const templates: Record<string, StoredTemplate> = {};
  for (const name of templateNames(s.program)) {
    const src = sources.get(name);
    if (!src) return s;
    templates[name] = storedTemplate(src);
  }
  return withTemplates(s, templates);
}

/**
 * The compiled template a touch of `sequenceId@version` renders: the source stored with that
 * version, compiled once per hash. A version stored before templates were (or one that does not
 * name this template: a touch made before an `on_edit: migrate` edit) reads the templates folder.
 */
export async function templateOfVersion(
  deps: Pick<EngineDeps, 'registry' | 'templates'>,
  db: Kysely<Database>,
  at: { sequenceId: string | null; version: string | null | undefined; name: string },
): Promise<CompiledTemplate> {
  const stored = at.sequenceId && at.version ? await deps.registry.template(at.sequenceId, at.version, at.name, db) : undefined;
  return stored ? deps.templates.fromStored(stored) : deps.templates.get(at.name);
}
