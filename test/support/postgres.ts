import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { openStore } from '../../src/db/database.js';
import type { Store, StoreKind } from '../../src/db/database.js';
import { ServiceUnavailableError } from '../../src/errors.js';

/**
 * Test stores. Postgres: a fresh schema `t_<random>` in the `test` database, migrated; cleanup
 * drops it. PGlite: a fresh embedded store in a temp directory, migrated; cleanup deletes it.
 */

export const TEST_DATABASE_URL = process.env.DATABASE_URL_TEST ?? 'postgres://127.0.0.1:5432/test';

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

async function createPgliteStore(): Promise<TestStore> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'nurture-test-'));
  const store = await openStore({ dataDir });
  let done: Promise<void> | undefined;
  return {
    ...store,
    close: () => store.close(),
    cleanup: () =>
      (done ??= (async () => {
        try {
          await store.close();
        } finally {
          await rm(dataDir, { recursive: true, force: true });
        }
      })()),
  };
}
