import { PGlite } from '@electric-sql/pglite';
import { Kysely } from 'kysely';
import { openStore } from '../../src/db/database.js';
import { PGliteDialect } from '../../src/db/pglite-dialect.js';
import type { Database } from '../../src/db/schema.js';
import { createTestDatabase } from './databases.js';

export type Backend = 'postgres' | 'pglite';

/**
 * An empty store with no migration applied, on a database of its own (PostgreSQL) or in memory
 * (PGlite), for tests that migrate step by step; `url` for a second connection on PostgreSQL.
 */
export async function unmigratedStore(kind: Backend, poolSize = 2): Promise<{ db: Kysely<Database>; url?: string; close(): Promise<void> }> {
  if (kind === 'pglite') {
    const pglite = new PGlite();
    const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) });
    return { db, close: async () => { await db.destroy(); await pglite.close(); } };
  }
  const database = await createTestDatabase();
  const store = await openStore({ databaseUrl: database.url, dataDir: '/tmp/nurture-unused', poolSize, migrate: false });
  return { db: store.db, url: database.url, close: async () => { await store.close(); await database.drop({ checkLeaks: true }); } };
}
