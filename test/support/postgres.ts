import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, sql } from 'kysely';
import { openStore } from '../../src/db/database.js';
import type { Store, StoreKind } from '../../src/db/database.js';
import { stopEmbeddedServerFor } from '../../src/db/embedded-server.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { PGliteDialect } from '../../src/db/pglite-dialect.js';
import type { Database } from '../../src/db/schema.js';
import { ServiceUnavailableError } from '../../src/errors.js';
import { POSTGRES_TEST_URL } from './services.js';

/**
 * Test stores. Postgres: a fresh schema `t_<random>` in the `test` database, migrated; cleanup
 * drops it and closes the pool. PGlite: a fresh in-memory PGlite, migrated (copied from a template
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

async function createPostgresStore(): Promise<TestStore> {
  await assertPostgresAnswering();
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const dataDir = path.join(tmpdir(), 'nurture-unused');
  const store = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir, schema, poolSize: 5 });
  let done: Promise<void> | undefined;
  return {
    ...store,
    close: () => store.close(),
    cleanup: () =>
      (done ??= (async () => {
        try {
          await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(store.db);
        } finally {
          await store.close();
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
