import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { ConfigError, ServiceUnavailableError } from '../errors.js';
import { readEmbeddedInfo, stopEmbeddedServerFor } from './embedded-server.js';
import type { MigrateOptions, MigrationRetryListener } from './migrate.js';
import { migrateToLatest, pendingMigrations } from './migrate.js';
import { PGliteDialect } from './pglite-dialect.js';
import type { Database } from './schema.js';
import { databaseIdentity, sessionStaysPut } from './session-check.js';

export type StoreKind = 'postgres' | 'pglite';

export interface Store {
  db: Kysely<Database>;
  /** 'pglite' for the embedded store, whether in this process or reached through its server. */
  kind: StoreKind;
  /** One line for logs and `nurture status`: where the data is (never a password). */
  describe: string;
  /** The PGlite instance when the embedded store runs in this process (for the embedded server). */
  pglite?: PGlite;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** postgres:// URL; without it, the embedded store in `dataDir`. */
  databaseUrl?: string;
  /**
   * The same database without a transaction-mode pooler in between (DATABASE_DIRECT_URL), for
   * what needs one server session: migrations. Unset: migrations go over `databaseUrl`, which
   * must then keep a connection on one session (PostgreSQL itself or a session-mode pool).
   */
  directUrl?: string;
  /** Nurture's own directory, e.g. `./.nurture`: the embedded store lives in `${dataDir}/pglite`. */
  dataDir: string;
  /** Put the tables in this schema (created if missing) instead of `public`: tests isolate themselves this way. */
  schema?: string;
  /** PostgreSQL pool size (default 20). */
  poolSize?: number;
  /** Apply pending migrations at open (default true). */
  migrate?: boolean;
  /** Told each time the migrations lost a race with a live writer and are tried again. */
  onMigrationRetry?: MigrationRetryListener;
  /** A migration's longest wait for a lock, each try but the last (default MIGRATION_LOCK_TIMEOUT_MS; 0: no limit). */
  migrationLockTimeoutMs?: number;
}

export const PGLITE_SUBDIR = 'pglite';
export const LOCK_FILE = 'pglite.lock';

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  if (opts.schema !== undefined && !SCHEMA_NAME.test(opts.schema)) {
    throw new ConfigError(
      `schema "${opts.schema}" is not a plain lower-case identifier (letters, digits, _; at most 63)`,
    );
  }
  if (opts.directUrl && !opts.databaseUrl) {
    throw new ConfigError('DATABASE_DIRECT_URL is set without DATABASE_URL: set DATABASE_URL too, or unset DATABASE_DIRECT_URL');
  }
  return opts.databaseUrl ? openPostgres(opts.databaseUrl, opts) : openEmbedded(opts);
}

/**
 * `nurture migrate`: applies pending migrations to the store the options name (over the direct
 * URL when there is one) and says which it applied, and where.
 */
export async function migrateDatabase(opts: OpenStoreOptions): Promise<{ applied: string[]; describe: string }> {
  const store = await openStore({ ...opts, migrate: false });
  try {
    const { applied } = await migrate(store, opts);
    return { applied, describe: store.describe };
  } finally {
    await store.close();
  }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

interface Target {
  host: string;
  port: number;
  database: string;
}

/** Which setting a URL came from, for messages. */
type UrlSource = 'DATABASE_URL' | 'DATABASE_DIRECT_URL';

function parseTarget(databaseUrl: string, source: UrlSource): Target {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    throw new ConfigError(`${source} is not a URL: expected postgres://user:password@host:5432/database`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(`${source} must start with postgres:// (got ${url.protocol}//)`);
  }
  const host = url.hostname || url.searchParams.get('host') || 'localhost';
  return {
    host: decodeURIComponent(host),
    port: Number(url.port || url.searchParams.get('port') || 5432),
    database: decodeURIComponent(url.pathname.replace(/^\//, '')) || '(default database)',
  };
}

/** Like libpq, default the user to PGUSER or the OS user (pg only looks at $USER, often unset in services). */
function withDefaultUser(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  if (url.username) return databaseUrl;
  url.username = encodeURIComponent(process.env.PGUSER || process.env.USER || userInfo().username);
  return url.toString();
}

/** What a pooled connection and a probe's connection are opened with. */
function clientConfig(databaseUrl: string, opts: OpenStoreOptions): pg.ClientConfig {
  return {
    connectionString: withDefaultUser(databaseUrl),
    connectionTimeoutMillis: 10_000,
    // A startup parameter: pgbouncer refuses `options` ("unsupported startup parameter"). Only
    // the test suite's per-schema isolation sets it.
    ...(opts.schema ? { options: `-c search_path=${opts.schema}` } : {}),
  };
}

async function openPostgres(databaseUrl: string, opts: OpenStoreOptions, source: UrlSource = 'DATABASE_URL'): Promise<Store> {
  const target = parseTarget(databaseUrl, source);
  const direct = opts.directUrl ? parseTarget(opts.directUrl, 'DATABASE_DIRECT_URL') : undefined;
  const pool = new pg.Pool({ ...clientConfig(databaseUrl, opts), max: opts.poolSize ?? 20 });
  const where = `${target.host}:${target.port}`;
  const migrations = direct ? `, migrations over DATABASE_DIRECT_URL ${direct.host}:${direct.port}/${direct.database}` : '';
  const describe = `postgres ${where}/${target.database}${opts.schema ? ` (schema ${opts.schema})` : ''}${migrations}`;
  return finishPool(pool, describe, 'postgres', opts, (error) =>
    unavailable(error, where, target.database, source, opts.dataDir),
  );
}

/** Probes the pool, creates the schema, migrates, and wraps it as a Store. */
async function finishPool(
  pool: pg.Pool,
  describe: string,
  kind: StoreKind,
  opts: OpenStoreOptions & { migrate?: boolean },
  explain: (error: unknown) => Error,
): Promise<Store> {
  // A client whose server went away (restart, failover, admin kill) emits 'error': the pool
  // re-emits it for idle clients, but a checked-out client (between two statements of a
  // transaction) emits it on itself. Unheard, either crashes the process. The next query on that
  // client fails instead, the caller retries (isTransientDbError), and the pool drops the client.
  pool.on('error', () => {});
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  try {
    await pool.query(opts.schema ? `create schema if not exists ${opts.schema}` : 'select 1');
  } catch (error) {
    // Two processes creating the schema at once: one fails, but the schema exists.
    if (!isPgCode(error, '23505') && !isPgCode(error, '42P06')) {
      await pool.end().catch(() => {});
      throw explain(error);
    }
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  let closing: Promise<void> | undefined;
  const store: Store = {
    db,
    kind,
    describe,
    close: () =>
      (closing ??= (async () => {
        await db.destroy();
        // Kysely ends the pool only if it ever took a connection from it: a store closed before
        // its first query through Kysely still holds the client of the probe above.
        if (!pool.ending) await pool.end();
      })()),
  };
  return migrateOrClose(store, opts);
}

function isPgCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'ENOENT',
  'EPIPE',
  '57P03', // the database system is starting up / shutting down
]);

function errorCodes(error: unknown): string[] {
  if (typeof error !== 'object' || error === null) return [];
  const codes: string[] = [];
  const { code, errors } = error as { code?: unknown; errors?: unknown };
  if (typeof code === 'string') codes.push(code);
  if (Array.isArray(errors)) for (const inner of errors) codes.push(...errorCodes(inner)); // AggregateError
  return codes;
}

function unavailable(error: unknown, where: string, database: string, source: string, dataDir: string): Error {
  const codes = errorCodes(error);
  const message = error instanceof Error ? error.message : String(error);
  const fallback = `unset ${source} to use the embedded store in ${dataDir}`;
  if (codes.some((c) => UNREACHABLE.has(c)) || /timeout|terminated/i.test(message)) {
    return new ServiceUnavailableError(
      `PostgreSQL is not answering at ${where} (${source}): start it ` +
        `(pg_ctlcluster <version> main start / docker compose up -d postgres) or ${fallback}`,
      { cause: error },
    );
  }
  if (codes.includes('28P01') || codes.includes('28000')) {
    return new ServiceUnavailableError(
      `PostgreSQL at ${where} refused the credentials in ${source} (${message}): fix the user/password or ${fallback}`,
      { cause: error },
    );
  }
  if (codes.includes('3D000')) {
    return new ServiceUnavailableError(
      `PostgreSQL at ${where} has no database "${database}" (${source}): create it (createdb ${database}) or ${fallback}`,
      { cause: error },
    );
  }
  return new ServiceUnavailableError(`PostgreSQL at ${where} (${source}) failed: ${message}`, { cause: error });
}

// ---------------------------------------------------------------------------------------------
// Embedded store (PGlite)

async function openEmbedded(opts: OpenStoreOptions): Promise<Store> {
  const dir = path.resolve(opts.dataDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const lockPath = path.join(dir, LOCK_FILE);
  const lock = await acquireLock(lockPath);
  if (!lock.acquired) return openThroughServer(dir, lock.holder, opts);

  let pglite: PGlite | undefined;
  try {
    pglite = new PGlite(path.join(dir, PGLITE_SUBDIR));
    await pglite.waitReady;
    if (opts.schema) {
      // One session for everyone (in-process driver and socket clients): set it once.
      await pglite.exec(`create schema if not exists ${opts.schema}; set search_path to ${opts.schema}`);
    }
  } catch (error) {
    await pglite?.close().catch(() => {});
    await lock.release();
    const message = error instanceof Error ? error.message : String(error);
    throw new ServiceUnavailableError(
      `the embedded store in ${opts.dataDir}/${PGLITE_SUBDIR} could not be opened: ${message}`,
      { cause: error },
    );
  }

  const instance = pglite;
  const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite: instance }) });
  let closing: Promise<void> | undefined;
  const store: Store = {
    db,
    kind: 'pglite',
    describe: `embedded store ${path.join(opts.dataDir, PGLITE_SUBDIR)} (PGlite, this process)`,
    pglite: instance,
    close: () =>
      (closing ??= (async () => {
        try {
          await stopEmbeddedServerFor(instance);
          await db.destroy();
          if (!instance.closed) await instance.close();
        } finally {
          await lock.release();
        }
      })()),
  };
  return migrateOrClose(store, opts);
}

/** The store is locked by a live process: reach it through that process's server, if it runs one. */
async function openThroughServer(dir: string, holder: number, opts: OpenStoreOptions): Promise<Store> {
  const info = await readEmbeddedInfo(dir);
  const shown = opts.dataDir;
  if (!info || info.pid !== holder) {
    throw new ServiceUnavailableError(
      `the embedded store in ${shown} is in use by another nurture process (pid ${holder}), which does not ` +
        `serve it to other commands. Run this command while \`nurture start\` is running (it serves the ` +
        `store to other nurture commands), stop pid ${holder}, or set DATABASE_URL to use PostgreSQL`,
    );
  }
  const pool = new pg.Pool({
    host: info.host,
    port: info.port,
    user: 'postgres',
    database: 'postgres',
    max: 1,
    connectionTimeoutMillis: 10_000,
  });
  const describe = `embedded store ${path.join(shown, PGLITE_SUBDIR)} (served by nurture pid ${holder})`;
  const socket = path.join(info.host, `.s.PGSQL.${info.port}`);
  // The owner migrated the store, and set its search_path (one session for all).
  return finishPool(pool, describe, 'pglite', { ...opts, schema: undefined, migrate: false }, (error) => {
    const message = error instanceof Error ? error.message : String(error);
    return new ServiceUnavailableError(
      `the embedded store in ${shown} is held by nurture pid ${holder}, but its server at ${socket} is not ` +
        `answering (${message}): wait for it to finish starting, stop pid ${holder}, or set DATABASE_URL to use PostgreSQL`,
      { cause: error },
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Lock file: one process opens a PGlite data directory.

type Lock = { acquired: true; release(): Promise<void> } | { acquired: false; holder: number };

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readPid(file: string): Promise<number | null> {
  try {
    const pid = Number.parseInt((await readFile(file, 'utf8')).trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

async function acquireLock(lockPath: string): Promise<Lock> {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const file = await open(lockPath, 'wx', 0o600);
      try {
        await file.writeFile(`${process.pid}\n`);
      } finally {
        await file.close();
      }
      let released = false;
      return {
        acquired: true,
        async release() {
          if (released) return;
          released = true;
          if ((await readPid(lockPath)) === process.pid) await rm(lockPath, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let holder = await readPid(lockPath);
    if (holder === null) {
      // Empty: another process may be between creating and writing it. Look again shortly.
      await new Promise((resolve) => setTimeout(resolve, 50));
      holder = await readPid(lockPath);
    }
    if (holder !== null && isAlive(holder)) return { acquired: false, holder };
    // Stale (its process is gone). Move it aside rather than delete it, and check what we moved:
    // if another process took over in between, we moved its live lock and must put it back.
    const aside = `${lockPath}.stale-${process.pid}-${attempt}`;
    try {
      await rename(lockPath, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    const moved = await readPid(aside);
    if (moved !== null && moved !== holder && isAlive(moved)) {
      await rename(aside, lockPath).catch(() => {});
      return { acquired: false, holder: moved };
    }
    await rm(aside, { force: true });
    // A stale socket and embedded.json belong to the dead holder: the server start removes them.
  }
  throw new ServiceUnavailableError(`${lockPath}: could not take the embedded store's lock (contended)`);
}

/** Applies pending migrations (unless told not to); a store that cannot be migrated is closed. */
async function migrateOrClose(store: Store, opts: OpenStoreOptions): Promise<Store> {
  if (opts.migrate ?? true) {
    try {
      await migrate(store, opts);
    } catch (error) {
      await store.close();
      throw error;
    }
  }
  return store;
}

// ---------------------------------------------------------------------------------------------
// Migrations over one server session

/**
 * Applies pending migrations over a connection that stays on one server session: Kysely's
 * Migrator holds a session-level advisory lock from before the migrations' transaction until
 * after it. That is DATABASE_DIRECT_URL when set (a pool of its own, closed when done), else the
 * store's pool; either is checked first (verifyMigrationPath), and a transaction-mode pooler is
 * refused with what to set, rather than risking a lock left held on a pooled server (the next
 * process to start would wait for it for up to an hour, Kysely's lock timeout). A store with
 * nothing pending is left alone: no probe, no direct connection, no Migrator (which would take
 * its lock all the same), so a process or a CLI command starts with one query.
 */
async function migrate(store: Store, opts: OpenStoreOptions): Promise<{ applied: string[] }> {
  const how: MigrateOptions = {
    ...(opts.schema ? { schema: opts.schema } : {}),
    ...(opts.onMigrationRetry ? { onRetry: opts.onMigrationRetry } : {}),
    ...(opts.migrationLockTimeoutMs !== undefined ? { lockTimeoutMs: opts.migrationLockTimeoutMs } : {}),
  };
  if (store.kind === 'pglite' || !opts.databaseUrl) return migrateToLatest(store.db, how);
  if ((await pendingMigrations(store.db, how)).length === 0) return { applied: [] };
  return overMigrationPath(store, opts.databaseUrl, opts, (db) => migrateToLatest(db, how));
}

/**
 * What migrations would go over checked as they would be (one session, the same database), for
 * `nurture doctor`, which must say so before the next upgrade needs it. Nothing is migrated.
 */
export async function verifyMigrationPath(store: Store, opts: OpenStoreOptions): Promise<void> {
  if (store.kind === 'pglite' || !opts.databaseUrl) return;
  await overMigrationPath(store, opts.databaseUrl, opts, async () => undefined);
}

async function overMigrationPath<T>(store: Store, databaseUrl: string, opts: OpenStoreOptions, run: (db: Store['db']) => Promise<T>): Promise<T> {
  if (!opts.directUrl) {
    await requireOneSession(databaseUrl, 'DATABASE_URL', opts);
    return run(store.db);
  }
  const direct = await openPostgres(opts.directUrl, { ...opts, directUrl: undefined, poolSize: 1, migrate: false }, 'DATABASE_DIRECT_URL');
  try {
    await requireOneSession(opts.directUrl, 'DATABASE_DIRECT_URL', opts);
    await requireSameDatabase(store, direct);
    return await run(direct.db);
  } finally {
    await direct.close();
  }
}

async function requireOneSession(databaseUrl: string, source: UrlSource, opts: OpenStoreOptions): Promise<void> {
  const target = parseTarget(databaseUrl, source);
  const where = `${target.host}:${target.port}`;
  let staysPut: boolean;
  try {
    staysPut = await sessionStaysPut(() => new pg.Client(clientConfig(databaseUrl, opts)));
  } catch (error) {
    // pgbouncer's answer to BEGIN in pool_mode=statement: a setting to change, not an outage to wait out.
    if (/statement pooling mode/i.test(error instanceof Error ? error.message : '')) {
      throw new ConfigError(
        `${source} (${where}/${target.database}) is a pool in statement mode, which refuses transactions ` +
          `(${(error as Error).message}): Nurture makes every change in a transaction; use pool_mode=transaction ` +
          `(with DATABASE_DIRECT_URL for migrations) or pool_mode=session`,
        { cause: error },
      );
    }
    throw unavailable(error, where, target.database, source, opts.dataDir);
  }
  if (staysPut) return;
  const seen =
    `${source} (${where}/${target.database}) goes through a pooler in transaction mode (pgbouncer pool_mode=transaction ` +
    `or the like): the statements of one connection ran in different server sessions. Migrations, applied whenever a ` +
    `process opens the store, hold a session-level lock and need one session`;
  throw new ConfigError(
    source === 'DATABASE_URL'
      ? `${seen}: set DATABASE_DIRECT_URL to the same database on PostgreSQL itself (or a session-mode pool), and keep DATABASE_URL on the pooler`
      : `${seen}: point DATABASE_DIRECT_URL at PostgreSQL itself (or a session-mode pool), not at the pooler`,
  );
}

/** Migrating one database while the engine runs on another would fail later and less clearly. */
async function requireSameDatabase(store: Store, direct: Store): Promise<void> {
  const [pooled, straight] = [await databaseIdentity(store.db), await databaseIdentity(direct.db)];
  if (pooled.database === straight.database && pooled.serverStarted === straight.serverStarted) return;
  const what = (x: typeof pooled) => `database "${x.database}" on a server up since ${x.serverStarted}`;
  throw new ConfigError(
    `DATABASE_URL and DATABASE_DIRECT_URL reach different databases (${what(pooled)}, and ${what(straight)}): ` +
      'both must reach the same database, one through the pooler and one directly',
  );
}
