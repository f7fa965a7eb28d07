import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { StoredDataError } from '../errors.js';
import type { SequenceDefinition } from '../sequences/schema.js';
import { parseSequenceDefinition, storedDefinition } from '../sequences/stored-state.js';
import type { StoredTemplate } from '../templates/template-files.js';
import { storedTemplatesSchema } from '../templates/template-files.js';
import type { Database } from './schema.js';

export interface StoredVersion {
  sequenceId: string;
  version: string;
  definition: SequenceDefinition;
  sourceFile: string;
  /** Every template the version names, as published; null for versions stored before templates were. */
  templates: Record<string, StoredTemplate> | null;
}

/**
 * Stores a version (once per version id) and makes it the active one. Returns the previous
 * active version. The write to `sequences` bumps `sequences_revision` (a trigger) in this same
 * transaction, so every process sees the change in its next event transaction.
 */
export async function publishVersion(db: Kysely<Database>, v: StoredVersion): Promise<string | null> {
  return db.transaction().execute(async (tx) => {
    await tx
      .insertInto('sequence_versions')
      .values({
        sequence_id: v.sequenceId,
        version: v.version,
        definition: JSON.stringify(storedDefinition(v.definition)),
        source_file: v.sourceFile,
        templates: v.templates === null ? null : JSON.stringify(v.templates),
      })
      .onConflict((oc) => oc.columns(['sequence_id', 'version']).doNothing())
      .execute();
    const prev = await tx.selectFrom('sequences').select('active_version').where('id', '=', v.sequenceId).forUpdate().executeTakeFirst();
    await tx
      .insertInto('sequences')
      .values({ id: v.sequenceId, active_version: v.version })
      .onConflict((oc) => oc.column('id').doUpdateSet({ active_version: v.version, updated_at: sql`now()` }))
      .execute();
    return prev?.active_version ?? null;
  });
}

/** Live sequences and their versions: what triggers enroll into (paused and retired ones never do). */
export async function activeVersions(db: Kysely<Database>): Promise<{ id: string; version: string }[]> {
  return db.selectFrom('sequences').select(['id', 'active_version as version']).where('status', '=', 'live').execute();
}

/** The stamp every write to `sequences` moves: equal stamps mean equal live sets. */
export async function sequencesRevision(db: Kysely<Database>): Promise<string> {
  const r = await db.selectFrom('sequences_revision').select('revision').where('id', '=', 1).executeTakeFirst();
  return String(r?.revision ?? '0');
}

export async function loadVersion(db: Kysely<Database>, sequenceId: string, version: string): Promise<StoredVersion | undefined> {
  const r = await db
    .selectFrom('sequence_versions')
    .selectAll()
    .where('sequence_id', '=', sequenceId)
    .where('version', '=', version)
    .executeTakeFirst();
  if (!r) return undefined;
  const what = `stored version ${version} of sequence ${sequenceId}`;
  const def = parseSequenceDefinition(r.definition);
  if (!def.ok) throw new StoredDataError(what, `definition.${def.path}`, def.message);
  let templates: Record<string, StoredTemplate> | null = null;
  if (r.templates !== null) {
    const t = storedTemplatesSchema.safeParse(r.templates);
    if (!t.success) {
      const issue = t.error.issues[0]!;
      throw new StoredDataError(what, `templates.${issue.path.map(String).join('.')}`, issue.message);
    }
    templates = t.data;
  }
  return { sequenceId: r.sequence_id, version: r.version, definition: def.value, sourceFile: r.source_file, templates };
}

/** Active enrollments per (sequence, version, step): what a live edit would affect. */
export async function enrollmentsByStep(db: Kysely<Database>, sequenceId: string) {
  return db
    .selectFrom('enrollments')
    .select(['sequence_version', 'step_id', db.fn.countAll<string>().as('n')])
    .where('sequence_id', '=', sequenceId)
    .where('status', '=', 'active')
    .groupBy(['sequence_version', 'step_id'])
    .execute();
}
