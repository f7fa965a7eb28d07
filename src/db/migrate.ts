import { Migrator } from 'kysely';
import type { Kysely } from 'kysely';
import { MigrationError } from '../errors.js';
import { migrationProvider } from './migrations/index.js';
import type { Database } from './schema.js';

export interface MigrateOptions {
  /** Schema that holds the tables and Kysely's bookkeeping tables (must be first on the search_path). */
  schema?: string;
}

/**
 * Applies every migration not yet applied, in name order. Returns the names it applied (none when
 * the database is up to date) and throws a MigrationError naming the migration that failed.
 */
export async function migrateToLatest(
  db: Kysely<Database>,
  opts: MigrateOptions = {},
): Promise<{ applied: string[] }> {
  const migrator = new Migrator({
    db,
    provider: migrationProvider,
    ...(opts.schema ? { migrationTableSchema: opts.schema } : {}),
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results.find((r) => r.status === 'Error')?.migrationName;
    const reason = error instanceof Error ? error.message : String(error);
    const where = failed
      ? `migration ${failed} failed`
      : 'migrations could not start (reading the migration table or taking the migration lock)';
    const skipped = results.filter((r) => r.status === 'NotExecuted').map((r) => r.migrationName);
    const tail = skipped.length > 0 ? `; not applied: ${skipped.join(', ')}` : '';
    throw new MigrationError(`${where}: ${reason}${tail}`, { cause: error });
  }
  return { applied: results.filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}
