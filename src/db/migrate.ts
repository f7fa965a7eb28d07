import { Migrator, sql } from 'kysely';
import type { Kysely, Migration, MigrationProvider } from 'kysely';
import { MigrationError } from '../errors.js';
import { migrations } from './migrations/index.js';
import type { Database } from './schema.js';
import { lockNotAvailable, lostRace } from './sql-state.js';
import { isTransientDbError, retryTransient } from './transient.js';

/**
 * How long a migration waits for a lock before it gives up for now (and is tried again). While a
 * migration waits for a table's lock, every writer that comes after it queues behind it, so a
 * long transaction elsewhere would stall the running engine for as long as it lasts; bounded,
 * the engine stalls for at most this long per try.
 */
export const MIGRATION_LOCK_TIMEOUT_MS = 5_000;

export interface MigrateOptions {
  /** Schema that holds the tables and Kysely's bookkeeping tables (must be first on the search_path). */
  schema?: string;
  /** Tries in all when the migrations lose a race (default 5); tests lower it. */
  tries?: number;
  /** Told before each wait when the migrations lost a race and are tried again (to log it). */
  onRetry?: MigrationRetryListener;
  /** Overrides MIGRATION_LOCK_TIMEOUT_MS; tests lower it. */
  lockTimeoutMs?: number;
}

/** `reason`: PostgreSQL's words for why the try was aborted; `attempt`: the try that failed (1 = the first). */
export type MigrationRetryListener = (reason: string, attempt: number, delayMs: number) => void;

/** A try of the migrations PostgreSQL aborted for another session's sake: a deadlock, a serialization failure, a lock it could not get in time. */
function migrationsLostRace(err: unknown): boolean {
  return lostRace(err) || lockNotAvailable(err);
}

/**
 * The migrations, each starting with the lock timeout. They all run in one transaction, and
 * `set local` lasts until it ends; it is set in each so a run that starts at any of them has it.
 */
function withLockTimeout(ms: number): MigrationProvider {
  const timed = (step: Migration['up']): Migration['up'] => async (db) => {
    await sql`select set_config('lock_timeout', ${`${ms}ms`}, true)`.execute(db);
    await step(db);
  };
  return {
    async getMigrations() {
      return Object.fromEntries(
        Object.entries(migrations).map(([name, m]) => [name, { up: timed(m.up), ...(m.down ? { down: timed(m.down) } : {}) }]),
      );
    },
  };
}

/** Migrations that failed for a reason worth trying again (a deadlock with a live writer, a lock held too long). */
class LostRace extends Error {
  constructor(readonly outcome: Awaited<ReturnType<Migrator['migrateToLatest']>>) {
    super('migrations lost a race', { cause: outcome.error });
  }
}

/**
 * Applies every migration not yet applied, in name order. Returns the names it applied (none when
 * the database is up to date) and throws a MigrationError naming the migration that failed.
 *
 * On PostgreSQL the pending migrations run in one transaction. A process of the new release
 * migrates while those of the old one may still write (a rolling restart), and a migration that
 * changes a table those writers lock can deadlock with them; PostgreSQL then aborts one of the
 * two. When it is the migrations, the transaction rolled back whole, so they are tried again
 * (with backoff); the writer's side is the engine's own retry.
 */
export async function migrateToLatest(
  db: Kysely<Database>,
  opts: MigrateOptions = {},
): Promise<{ applied: string[] }> {
  const migrator = new Migrator({
    db,
    provider: withLockTimeout(opts.lockTimeoutMs ?? MIGRATION_LOCK_TIMEOUT_MS),
    ...(opts.schema ? { migrationTableSchema: opts.schema } : {}),
  });
  const tries = Math.max(1, opts.tries ?? 5);
  const { error, results = [] } = await retryTransient(
    async () => {
      const outcome = await migrator.migrateToLatest();
      if (outcome.error !== undefined && migrationsLostRace(outcome.error)) throw new LostRace(outcome);
      return outcome;
    },
    {
      tries,
      firstDelayMs: 200,
      retryable: (err: unknown) => err instanceof LostRace || isTransientDbError(err),
      ...(opts.onRetry
        ? { onRetry: (err: unknown, attempt: number, delayMs: number) => opts.onRetry!(err instanceof LostRace ? errorText(err.outcome.error) : errorText(err), attempt, delayMs) }
        : {}),
    },
  ).catch((err: unknown) => {
    if (err instanceof LostRace) return err.outcome;
    throw err;
  });
  if (error !== undefined) {
    const failed = results.find((r) => r.status === 'Error')?.migrationName;
    const times = tries === 1 ? 'once' : `${tries} times`;
    const lockMs = opts.lockTimeoutMs ?? MIGRATION_LOCK_TIMEOUT_MS;
    const raced = lockNotAvailable(error)
      ? ` (tried ${times}: another session held a lock the migration needs for longer than ${lockMs} ms each time; look for a long transaction in pg_stat_activity, or stop the engine's processes, and migrate again)`
      : lostRace(error)
        ? ` (tried ${times}: PostgreSQL aborted it in a deadlock or serialization failure with other sessions each time; stop the engine's processes and migrate again)`
        : '';
    const reason = errorText(error) + raced;
    const where = failed
      ? `migration ${failed} failed`
      : 'migrations could not start (reading the migration table or taking the migration lock)';
    const skipped = results.filter((r) => r.status === 'NotExecuted').map((r) => r.migrationName);
    const tail = skipped.length > 0 ? `; not applied: ${skipped.join(', ')}` : '';
    throw new MigrationError(`${where}: ${reason}${tail}`, { cause: error });
  }
  return { applied: results.filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
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
