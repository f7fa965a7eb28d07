import type { Config } from '../config.js';
import type { OpenStoreOptions } from '../db/database.js';
import type { MigrationRetryListener } from '../db/migrate.js';
import type { Logger } from '../logger.js';
import { createLogger } from '../logger.js';

/**
 * How every entry point opens the configured store: the same URLs, directory and migration
 * settings, so a CLI command that migrates at open behaves as the engine does. A retry of the
 * migrations is told to `onMigrationRetry`, else as a warning to `log`, else to a logger made
 * from the configuration when the first retry comes (most opens have none to tell).
 */
export function storeOptions(
  config: Config,
  o: { poolSize: number; log?: Logger | undefined; onMigrationRetry?: MigrationRetryListener | undefined; migrate?: boolean },
): OpenStoreOptions {
  let log = o.log;
  const warn: MigrationRetryListener = (reason, attempt, delayMs) =>
    (log ??= createLogger(config.logLevel)).warn({ attempt, delayMs, reason }, 'migrations were aborted by PostgreSQL (a race with a running process, or a lock held too long); trying again');
  return {
    databaseUrl: config.databaseUrl,
    directUrl: config.databaseDirectUrl,
    dataDir: config.dataDir,
    poolSize: o.poolSize,
    migrationLockTimeoutMs: config.migrationLockTimeoutMs,
    onMigrationRetry: o.onMigrationRetry ?? warn,
    ...(o.migrate !== undefined ? { migrate: o.migrate } : {}),
  };
}
