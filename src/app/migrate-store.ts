import type { Config } from '../config.js';
import { migrateDatabase } from '../db/database.js';
import type { MigrationRetryListener } from '../db/migrate.js';
import { storeOptions } from './store-options.js';

/**
 * Applies pending migrations to the configured store (over DATABASE_DIRECT_URL when set); says
 * which, and where. `onRetry` hears of each try PostgreSQL aborted in a race with a running process.
 */
export async function migrateStore(config: Config, onRetry?: MigrationRetryListener): Promise<{ applied: string[]; store: string }> {
  const { applied, describe } = await migrateDatabase(storeOptions(config, { poolSize: 2, onMigrationRetry: onRetry }));
  return { applied, store: describe };
}
