import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely } from 'kysely';
import { openStore } from '../../src/db/database.js';
import { createTestDatabase } from './databases.js';
import type { Store, StoreKind } from '../../src/db/database.js';
import { stopEmbeddedServerFor } from '../../src/db/embedded-server.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { PGliteDialect } from '../../src/db/pglite-dialect.js';
import type { Database } from '../../src/db/schema.js';
import { ServiceUnavailableError } from '../../src/errors.js';
import { POSTGRES_TEST_URL } from './services.js';

/**
 * Test stores. Postgres: a fresh database `nurture_t_<random>`, migrated; cleanup closes the
 * pool and drops it. PGlite: a fresh in-memory PGlite, migrated (copied from a template
 * made once per process); cleanup closes it. Tests of the on-disk embedded store (lock file,
 * socket server) use openStore with a temp dataDir directly.
 */

/** DATABASE_URL_TEST or postgres://127.0.0.1:5432/test, with the OS user when the URL names none. */
export const TEST_DATABASE_URL = POSTGRES_TEST_URL;

export type TestStore = Store & { cleanup(): Promise<void> };

const START_HINT = 'start it with pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start';

/** Fails in a second or two, with the command that fixes it, when PostgreSQL is not listening. */
export async function assertPostgresAnswering(databaseUrl = TEST_DATABASE_URL): Promise<void> {
  const url = new URL(databaseUrl);
  if (!url.hostname) return; // unix socket: openStore's own probe reports it
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || 5432);
  await new Promise<void>((resolve, reject) => {
    const socket = net.connect({ host, port });
    const fail = (why: string) => {
      socket.destroy();
      reject(new ServiceUnavailableError(`PostgreSQL is not answering at ${host}:${port} (${why}): ${START_HINT}`));
    };
    socket.setTimeout(2_000, () => fail('no answer in 2 s'));
    socket.once('error', (error: NodeJS.ErrnoException) => fail(error.code ?? error.message));
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
  });
}

export async function createTestStore(kind: StoreKind): Promise<TestStore> {
  return kind === 'postgres' ? createPostgresStore() : createPgliteStore();
}

/**
 * A database of its own, not just a schema: Kysely's migrator introspects every table of the
 * database it migrates, and another test file dropping its schema at that moment makes the
 * introspection fail ("schema t_... does not exist"). Databases do not see each other.
 */
async function createPostgresStore(): Promise<TestStore> {
  await assertPostgresAnswering();
  const database = await createTestDatabase();
  const dataDir = path.join(tmpdir(), 'nurture-unused');
  let store: Store;
  try {
    store = await openStore({ databaseUrl: database.url, dataDir, poolSize: 5 });
  } catch (error) {
    await database.drop();
    throw error;
  }
  let done: Promise<void> | undefined;
  return {
    ...store,
    close: () => store.close(),
    cleanup: () =>
      (done ??= (async () => {
        try {
          await store.close();
        } finally {
          await database.drop({ checkLeaks: true });
        }
      })()),
  };
}

/** A migrated PGlite data directory, made once per test process: a fresh PGlite costs seconds (initdb). */
let template: Promise<File | Blob> | undefined;

function migratedTemplate(): Promise<File | Blob> {
  template ??= (async () => {
    const pglite = new PGlite();
    const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) });
    try {
      await migrateToLatest(db);
      return await pglite.dumpDataDir('none');
    } finally {
      await db.destroy();
      await pglite.close();
    }
  })();
  return template;
}

async function createPgliteStore(): Promise<TestStore> {
  const pglite = new PGlite({ loadDataDir: await migratedTemplate() });
  await pglite.waitReady;
  const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) });
  await migrateToLatest(db); // a no-op unless a migration was added since the template was made
  let done: Promise<void> | undefined;
  const close = () =>
    (done ??= (async () => {
      await stopEmbeddedServerFor(pglite);
      await db.destroy();
      if (!pglite.closed) await pglite.close();
    })());
  return { db, kind: 'pglite', describe: 'PGlite (in memory, test)', pglite, close, cleanup: close };
}
