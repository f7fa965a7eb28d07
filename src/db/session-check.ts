import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

/**
 * Whether every statement of one connection runs in one server session, as migrations need:
 * Kysely's Migrator takes a session-level advisory lock (`pg_advisory_lock`) and releases it in a
 * later statement. Straight to PostgreSQL, or through a session-mode pool, a connection is one
 * backend for its whole life. Through a pooler in transaction mode (pgbouncer
 * `pool_mode=transaction`) a connection gets a server only for a transaction, and the lock and
 * the unlock can land on different servers, leaving the lock held on one of them.
 *
 * No query says which pool mode a pgbouncer runs (`SHOW POOLS` answers on its admin console
 * only), so this watches what the mode does. Two connections, `a` and `b`:
 *   1. `b` runs a statement: its backend pid is p. Between statements, a transaction-mode pooler
 *      puts that server back in the pool;
 *   2. `a` opens a transaction: a transaction-mode pooler hands it the server just freed (pgbouncer
 *      reuses the most recently freed one, server_round_robin = 0): `a` sees p, which two
 *      connections to PostgreSQL itself never share;
 *   3. while `a` holds its transaction, `b` runs a statement again: if `a` took p, `b` gets another
 *      server, which a connection of its own never does.
 * Either sign proves a pooler that moves connections between servers: no false alarm is possible.
 * The pooler may hand out another server at step 2 (busy with other clients, or round-robin),
 * so it is tried three times; it can still miss one under load, and the README says so.
 */
export async function sessionStaysPut(client: () => pg.Client): Promise<boolean> {
  const a = client();
  const b = client();
  // A server gone mid-probe fails the query in hand; unheard, the client's 'error' would crash the process.
  a.on('error', () => {});
  b.on('error', () => {});
  try {
    await a.connect();
    await b.connect();
    for (let round = 0; round < 3; round++) {
      const before = await backendPid(b);
      await a.query('begin');
      try {
        if ((await backendPid(a)) === before) return false;
        // Asked only when `a` has a server of its own: with one server in the pool, `b` would wait for `a`.
        if ((await backendPid(b)) !== before) return false;
      } finally {
        await a.query('commit');
      }
    }
    return true;
  } finally {
    await Promise.all([a.end().catch(() => {}), b.end().catch(() => {})]);
  }
}

async function backendPid(c: pg.Client): Promise<number> {
  const r = await c.query<{ pid: number }>('select pg_backend_pid() as pid');
  return r.rows[0]!.pid;
}

/** What names a database and the server it lives on, to tell whether two URLs reach the same one. */
export interface DatabaseIdentity {
  database: string;
  /** When the server started: differs between two servers (a primary and its replica too). */
  serverStarted: string;
}

export async function databaseIdentity(db: Kysely<Database>): Promise<DatabaseIdentity> {
  const r = await sql<DatabaseIdentity>`select current_database() as database, pg_postmaster_start_time()::text as "serverStarted"`.execute(db);
  return r.rows[0]!;
}
