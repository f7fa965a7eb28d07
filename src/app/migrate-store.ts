import type { Config } from '../config.js';
import { openStore } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';

/** Applies pending migrations to the configured store; says which, and where. */
export async function migrateStore(config: Config): Promise<{ applied: string[]; store: string }> {
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2, migrate: false });
  try {
    const { applied } = await migrateToLatest(store.db);
    return { applied, store: store.describe };
  } finally {
    await store.close();
  }
}
