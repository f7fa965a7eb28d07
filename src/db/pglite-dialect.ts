import type { PGlite } from '@electric-sql/pglite';
import { CompiledQuery, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely';
import type {
  DatabaseConnection,
  DatabaseIntrospector,
  Dialect,
  DialectAdapter,
  Driver,
  Kysely,
  QueryCompiler,
  QueryResult,
  TransactionSettings,
} from 'kysely';
import pg from 'pg';

/**
 * A Kysely dialect for PGlite (Postgres compiled to WASM, in this process).
 *
 * PGlite is one Postgres session. The driver hands that session to one holder at a time: a query,
 * or a whole `db.transaction()`, holds it from acquire to release, so concurrent jobs serialise
 * instead of interleaving their statements into each other's transactions. The same lease is
 * taken by the embedded socket server (embedded-server.ts) for its clients.
 *
 * Consequence to keep in mind: inside `db.transaction().execute(trx => ...)` use `trx`, never
 * `db`: a query on `db` waits for the session the transaction holds, forever.
 *
 * Results are parsed with pg's own type parsers, so PGlite and PostgreSQL return the same JS types
 * (int8/bigserial and numeric as string, timestamptz as Date, jsonb parsed, bytea as Buffer).
 */

/** A FIFO async mutex. */
export class AsyncMutex {
  #locked = false;
  readonly #waiters: Array<() => void> = [];

  get locked(): boolean {
    return this.#locked;
  }

  lock(): Promise<void> {
    if (!this.#locked) {
      this.#locked = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  unlock(): void {
    const next = this.#waiters.shift();
    if (next) next(); // ownership passes straight to the next waiter
    else this.#locked = false;
  }
}

const leases = new WeakMap<PGlite, AsyncMutex>();

/** The lease on a PGlite session, shared by every driver and socket server using that instance. */
export function sessionLease(pglite: PGlite): AsyncMutex {
  let lease = leases.get(pglite);
  if (!lease) {
    lease = new AsyncMutex();
    leases.set(pglite, lease);
  }
  return lease;
}

type Parser = (value: string, typeId?: number) => unknown;

/** OIDs pg parses that PGlite leaves as text (interval, interval[]). */
const EXTRA_PARSED_OIDS = [1186, 1187];

/**
 * PGlite parsers that give the same JS values as node-postgres, for every type PGlite would
 * otherwise parse its own way (int8 → number/BigInt, date → UTC Date, bytea → Uint8Array, ...).
 */
export function pgCompatibleParsers(pglite: PGlite): Record<number, Parser> {
  const oids = new Set<number>(EXTRA_PARSED_OIDS);
  for (const key of Object.keys(pglite.parsers)) {
    const oid = Number(key);
    if (Number.isInteger(oid)) oids.add(oid);
  }
  const parsers: Record<number, Parser> = {};
  for (const oid of oids) {
    const parse = pg.types.getTypeParser(oid, 'text') as (value: string) => unknown;
    parsers[oid] = (value) => parse(value);
  }
  return parsers;
}

export interface PGliteDialectConfig {
  pglite: PGlite;
  /** Run once when the driver starts (e.g. `set search_path`). */
  onCreateConnection?: (connection: DatabaseConnection) => Promise<void>;
}

export class PGliteDialect implements Dialect {
  readonly #config: PGliteDialectConfig;

  constructor(config: PGliteDialectConfig) {
    this.#config = config;
  }

  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }

  createDriver(): Driver {
    return new PGliteDriver(this.#config);
  }

  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }

  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }
}

const AFFECTING_COMMANDS = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

class PGliteConnection implements DatabaseConnection {
  constructor(
    private readonly pglite: PGlite,
    private readonly parsers: Record<number, Parser>,
  ) {}

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.pglite.query<R>(compiledQuery.sql, [...compiledQuery.parameters], {
      rowMode: 'object',
      parsers: this.parsers,
    });
    const affected = result.command && AFFECTING_COMMANDS.has(result.command);
    return {
      rows: result.rows,
      numAffectedRows: affected ? BigInt(result.rowCount ?? result.affectedRows ?? 0) : undefined,
    };
  }

  async *streamQuery<R>(compiledQuery: CompiledQuery, chunkSize = 100): AsyncIterableIterator<QueryResult<R>> {
    if (!Number.isInteger(chunkSize) || chunkSize <= 0) throw new Error('chunkSize must be a positive integer');
    // PGlite has no cursors over the wire; read everything, hand it out in chunks.
    const { rows } = await this.executeQuery<R>(compiledQuery);
    for (let i = 0; i < rows.length; i += chunkSize) {
      yield { rows: rows.slice(i, i + chunkSize) };
    }
  }
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

class PGliteDriver implements Driver {
  readonly #config: PGliteDialectConfig;
  readonly #lease: AsyncMutex;
  #connection: PGliteConnection | undefined;

  constructor(config: PGliteDialectConfig) {
    this.#config = config;
    this.#lease = sessionLease(config.pglite);
  }

  async init(): Promise<void> {
    const { pglite } = this.#config;
    await pglite.waitReady;
    this.#connection = new PGliteConnection(pglite, pgCompatibleParsers(pglite));
    if (this.#config.onCreateConnection) {
      await this.#lease.lock();
      try {
        await this.#config.onCreateConnection(this.#connection);
      } finally {
        this.#lease.unlock();
      }
    }
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    if (!this.#connection) throw new Error('PGlite driver is not initialised (or was destroyed)');
    await this.#lease.lock();
    return this.#connection;
  }

  async releaseConnection(): Promise<void> {
    // The session is shared: never hand it on inside a transaction someone forgot to end.
    try {
      const { pglite } = this.#config;
      if (!pglite.closed && pglite.isInTransaction()) await pglite.exec('ROLLBACK');
    } finally {
      this.#lease.unlock();
    }
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    let text = 'begin';
    if (settings.isolationLevel || settings.accessMode) {
      text = 'start transaction';
      if (settings.isolationLevel) text += ` isolation level ${settings.isolationLevel}`;
      if (settings.accessMode) text += ` ${settings.accessMode}`;
    }
    await connection.executeQuery(CompiledQuery.raw(text));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`savepoint ${quoteIdent(name)}`));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`rollback to savepoint ${quoteIdent(name)}`));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`release savepoint ${quoteIdent(name)}`));
  }

  async destroy(): Promise<void> {
    // The PGlite instance belongs to whoever created it (see database.ts), which closes it.
    this.#connection = undefined;
  }
}
