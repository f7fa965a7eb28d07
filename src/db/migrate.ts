import { Migrator, sql } from 'kysely';
import type { Kysely, Migration, MigrationProvider } from 'kysely';
import { MigrationError } from '../errors.js';
import { migrationProvider, migrations } from './migrations/index.js';
import type { Database } from './schema.js';
import { lockNotAvailable, lostRace } from './sql-state.js';
import { retryTransient } from './transient.js';

/**
 * How long a migration waits for a lock before this try gives up (NURTURE_MIGRATION_LOCK_TIMEOUT_MS).
 * While a migration waits for a table's lock, every writer that comes after it queues behind it,
 * so a long transaction elsewhere would stall the running engine for as long as it lasts. With a
 * bound, each wait of each try stalls it for at most this long; the try rolls back whole (work
 * already done in it included) and the next one starts after a backoff. The last try waits
 * under the session's own lock_timeout (PostgreSQL's default: as long as it takes), as before
 * there was one here, so a start never fails for a lock it could have waited for.
 */
export const MIGRATION_LOCK_TIMEOUT_MS = 5_000;

export interface MigrateOptions {
  /** Schema that holds the tables and Kysely's bookkeeping tables (must be first on the search_path). */
  schema?: string;
  /** Tries in all when the migrations lose a race (default 5); tests lower it. */
  tries?: number;
  /** Told before each wait when the migrations lost a race and are tried again (to log it). */
  onRetry?: MigrationRetryListener;
  /** Overrides MIGRATION_LOCK_TIMEOUT_MS; 0: every try waits for its locks as long as it takes. */
  lockTimeoutMs?: number;
}

/** `reason`: PostgreSQL's words for why the try was aborted; `attempt`: the try that failed (1 = the first). */
export type MigrationRetryListener = (reason: string, attempt: number, delayMs: number) => void;

type Outcome = Awaited<ReturnType<Migrator['migrateToLatest']>>;

/**
 * A try PostgreSQL aborted for another session's sake: a deadlock, a serialization failure, or a
 * migration that could not get a lock within the timeout. A lock timeout before any migration ran
 * is Kysely's own migration lock, which it waits an hour for: another migrator, not a race.
 */
function lostTheRace(o: Outcome): boolean {
  if (o.error === undefined) return false;
  return lostRace(o.error) || (lockNotAvailable(o.error) && (o.results ?? []).some((r) => r.status === 'Error'));
}

/**
 * The migrations, each starting with the lock timeout. They all run in one transaction (Kysely
 * runs a PostgreSQL dialect's migrations in one), and `set_config(..., true)` lasts until it
 * ends; it is set in each so a run that starts at any of them has it. 0: the migrations as they
 * are, under the session's own lock_timeout (PostgreSQL's default: none; a DBA's, if set).
 */
function withLockTimeout(ms: number): MigrationProvider {
  if (ms === 0) return migrationProvider;
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

/** A try that lost a race: thrown so retryTransient tries again, and carrying the outcome for after the last. */
class LostRace extends Error {
  constructor(readonly outcome: Outcome) {
    super('migrations lost a race', { cause: outcome.error });
  }
}

/**
 * Applies every migration not yet applied, in name order. Returns the names it applied (none when
 * the database is up to date) and throws a MigrationError naming the migration that failed.
 *
 * On PostgreSQL the pending migrations run in one transaction. A process of the new release
 * migrates while those of the old one may still write (a rolling restart), and a migration that
 * changes a table those writers lock can deadlock with them, or wait behind a long transaction;
 * PostgreSQL then aborts one of the two, or the migration's lock timeout runs out. The
 * transaction rolled back whole, so the migrations are tried again (with backoff); the writer's
 * side is the engine's own retry.
 */
export async function migrateToLatest(
  db: Kysely<Database>,
  opts: MigrateOptions = {},
): Promise<{ applied: string[] }> {
  const tries = Math.max(1, opts.tries ?? 5);
  const lockMs = Math.max(0, opts.lockTimeoutMs ?? MIGRATION_LOCK_TIMEOUT_MS);
  const { error, results = [] } = await retryTransient(
    async (attempt) => {
      const migrator = new Migrator({
        db,
        provider: withLockTimeout(attempt < tries ? lockMs : 0),
        ...(opts.schema ? { migrationTableSchema: opts.schema } : {}),
      });
      // migrateToLatest never throws: what went wrong is in the outcome.
      const outcome = await migrator.migrateToLatest();
      if (lostTheRace(outcome)) throw new LostRace(outcome);
      return outcome;
    },
    {
      tries,
      firstDelayMs: 200,
      retryable: (err: unknown) => err instanceof LostRace,
      ...(opts.onRetry ? { onRetry: (err: unknown, n: number, delayMs: number) => opts.onRetry!(errorText((err as LostRace).outcome.error), n, delayMs) } : {}),
    },
  ).catch((err: unknown) => {
    if (err instanceof LostRace) return err.outcome;
    throw err;
  });
  if (error !== undefined) {
    const failed = results.find((r) => r.status === 'Error')?.migrationName;
    const times = tries === 1 ? 'once' : `${tries} times`;
    const raced = lostRace(error)
      ? ` (tried ${times}: PostgreSQL aborted it in a deadlock or serialization failure with other sessions each time; stop the engine's processes and migrate again)`
      : !failed && lockNotAvailable(error)
        ? " (a lock timeout before any migration ran: usually Kysely's migration lock, a session-level advisory lock it waits an hour for, held by a migration still running elsewhere or left on a server session behind a pooler (pg_locks where locktype = 'advisory'); or a lock_timeout set on the role or database that ran out on Kysely's own tables)"
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
