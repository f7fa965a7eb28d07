import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { ConflictError } from '../errors.js';
import type { LoadedSequence } from '../sequences/load.js';

export interface PublishCheck {
  /** Things the operator should know, that do not stop the start. */
  warnings: string[];
}

/**
 * Before `nurture start` publishes a sequences directory: a sequence that is live in the store
 * but has no file in the directory would stay live unseen (its next opt-in runs a definition
 * nobody can read or edit any more). Starting is refused, naming each such sequence, how many
 * contacts are in it and the two ways out; the operator decides, never the engine.
 *
 * Paused and retired sequences are the operator's own decisions: reported, never refused.
 */
export async function checkPublishedSequences(db: Kysely<Database>, loaded: readonly LoadedSequence[], dir: string): Promise<PublishCheck> {
  const inFiles = new Set(loaded.map((s) => s.program.sequenceId));
  const stored = await db
    .selectFrom('sequences')
    .leftJoin('sequence_versions', (j) => j.onRef('sequence_versions.sequence_id', '=', 'sequences.id').onRef('sequence_versions.version', '=', 'sequences.active_version'))
    .select(['sequences.id', 'sequences.status', 'sequence_versions.source_file'])
    .orderBy('sequences.id')
    .execute();
  const inFlight = new Map(
    (
      await db
        .selectFrom('enrollments')
        .select(['sequence_id', db.fn.countAll<string>().as('n')])
        .where('status', '=', 'active')
        .groupBy('sequence_id')
        .execute()
    ).map((r) => [r.sequence_id, Number(r.n)]),
  );
  const missing: string[] = [];
  const warnings: string[] = [];
  for (const s of stored) {
    const n = inFlight.get(s.id) ?? 0;
    const contacts = `${n} contact${n === 1 ? '' : 's'} in flight`;
    const file = s.source_file ? ` (last loaded from ${s.source_file})` : '';
    if (s.status === 'live' && !inFiles.has(s.id)) {
      missing.push(`sequence ${s.id}${file} is live but no file in ${dir} defines it; ${contacts}: restore its file, or run \`nurture sequences retire ${s.id}\` (or \`pause\`) first`);
    } else if (s.status === 'paused') {
      warnings.push(`sequence ${s.id} is paused (${contacts}, held): \`nurture sequences resume ${s.id}\` makes it live${inFiles.has(s.id) ? '' : ` (no file in ${dir} defines it any more)`}`);
    } else if (s.status === 'retired' && inFiles.has(s.id)) {
      warnings.push(`sequence ${s.id} is retired; its file is still in ${dir} and stays retired (delete the file, or \`nurture sequences resume ${s.id}\`)`);
    }
  }
  if (missing.length > 0) throw new ConflictError(`not starting:\n  ${missing.join('\n  ')}`);
  return { warnings };
}
