import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { SequenceDefinition } from '../sequences/schema.js';
import type { Database } from './schema.js';

export interface StoredVersion {
  sequenceId: string;
  version: string;
  definition: SequenceDefinition;
  sourceFile: string;
}

/** Stores a version (once per content hash) and makes it the active one. Returns the previous active version. */
export async function publishVersion(db: Kysely<Database>, v: StoredVersion): Promise<string | null> {
  return db.transaction().execute(async (tx) => {
    await tx
      .insertInto('sequence_versions')
      .values({ sequence_id: v.sequenceId, version: v.version, definition: JSON.stringify(v.definition), source_file: v.sourceFile })
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

export async function loadVersion(db: Kysely<Database>, sequenceId: string, version: string): Promise<StoredVersion | undefined> {
  const r = await db
    .selectFrom('sequence_versions')
    .selectAll()
    .where('sequence_id', '=', sequenceId)
    .where('version', '=', version)
    .executeTakeFirst();
  return r && { sequenceId: r.sequence_id, version: r.version, definition: r.definition as SequenceDefinition, sourceFile: r.source_file };
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
