import { Migrator, sql } from 'kysely';
import type { Kysely } from 'kysely';
import { MigrationError } from '../errors.js';
import { migrationProvider, migrations } from './migrations/index.js';
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

/**
 * The migrations this build has that the database has not applied, read without Kysely's
 * Migrator: the Migrator creates its tables and takes its session-level lock even when there is
 * nothing to do, and a process that starts on an up-to-date store need do neither.
 */
export async function pendingMigrations(db: Kysely<Database>, opts: MigrateOptions = {}): Promise<string[]> {
  // Where the Migrator keeps it: the given schema, else the first on the search_path.
  const table = opts.schema ? `${opts.schema}.kysely_migration` : 'kysely_migration';
  const exists = await sql<{ t: string | null }>`select to_regclass(${table})::text as t`.execute(db);
  const applied = exists.rows[0]?.t
    ? new Set((await sql<{ name: string }>`select name from ${sql.table(table)}`.execute(db)).rows.map((r) => r.name))
    : new Set<string>();
  return Object.keys(migrations).filter((name) => !applied.has(name));
}
