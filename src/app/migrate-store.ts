import type { Config } from '../config.js';
import { migrateDatabase } from '../db/database.js';
import type { MigrationRetryListener } from '../db/migrate.js';

/**
 * Applies pending migrations to the configured store (over DATABASE_DIRECT_URL when set); says
 * which, and where. `onRetry` hears of each try PostgreSQL aborted in a race with a running process.
 */
export async function migrateStore(config: Config, onRetry?: MigrationRetryListener): Promise<{ applied: string[]; store: string }> {
  const { applied, describe } = await migrateDatabase({
    databaseUrl: config.databaseUrl,
    directUrl: config.databaseDirectUrl,
    dataDir: config.dataDir,
    poolSize: 2,
    ...(onRetry ? { onMigrationRetry: onRetry } : {}),
  });
  return { applied, store: describe };
}
