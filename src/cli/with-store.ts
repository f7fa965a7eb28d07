import type { Config } from '../config.js';
import type { Store } from '../db/database.js';
import { openStore } from '../db/database.js';

/** Opens the store for a short command (no migrations when reaching a running engine's store). */
export async function withStore<T>(cfg: Config, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore({ databaseUrl: cfg.databaseUrl, dataDir: cfg.dataDir, poolSize: 2 });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
