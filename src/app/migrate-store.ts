import type { Config } from '../config.js';
import { migrateDatabase } from '../db/database.js';

/** Applies pending migrations to the configured store (over DATABASE_DIRECT_URL when set); says which, and where. */
export async function migrateStore(config: Config): Promise<{ applied: string[]; store: string }> {
  const { applied, describe } = await migrateDatabase({
    databaseUrl: config.databaseUrl,
    directUrl: config.databaseDirectUrl,
    dataDir: config.dataDir,
    poolSize: 2,
  });
  return { applied, store: describe };
}
