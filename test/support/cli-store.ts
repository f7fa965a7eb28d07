import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { openStore } from '../../src/db/database.js';
import type { Store } from '../../src/db/database.js';
import { createTestDatabase } from './databases.js';
import { REDIS_TEST_URL } from './services.js';

/**
 * A database of its own that both the test (through `store`) and the compiled CLI (through
 * `env`'s DATABASE_URL) use, for tests that drive commands as an operator types them.
 */
export interface CliStore {
  store: Store;
  env: NodeJS.ProcessEnv;
  dir: string;
  cleanup(): Promise<void>;
}

export async function createCliStore(extraEnv: Record<string, string> = {}): Promise<CliStore> {
  const database = await createTestDatabase();
  const dir = await mkdtemp(path.join(tmpdir(), 'nurture-manage-'));
  const store = await openStore({ databaseUrl: database.url, dataDir: dir, poolSize: 3 });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    DATABASE_URL: database.url,
    REDIS_URL: REDIS_TEST_URL,
    NURTURE_DATA_DIR: dir,
    NURTURE_HTTP_PORT: '0',
    NURTURE_SECRET: 'e2e-secret-0123456789abcdef0123456789abcdef',
    NURTURE_QUEUE_PREFIX: `m${randomBytes(4).toString('hex')}`,
    NURTURE_LOG_LEVEL: 'silent',
    ...extraEnv,
  };
  return {
    store,
    env,
    dir,
    async cleanup() {
      await store.close();
      await database.drop({ checkLeaks: true });
      await rm(dir, { recursive: true, force: true });
    },
  };
}
