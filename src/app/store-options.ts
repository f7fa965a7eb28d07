import type { Config } from '../config.js';
import type { OpenStoreOptions } from '../db/database.js';
import type { MigrationRetryListener } from '../db/migrate.js';
import type { Logger } from '../logger.js';

/**
 * How every entry point opens the configured store: the same URLs, directory and migration
 * settings, so a CLI command that migrates at open behaves as the engine does. A retry of the
 * migrations is told to `log` as a warning, or to `onMigrationRetry` instead.
 */
export function storeOptions(
  config: Config,
  o: { poolSize: number; log?: Logger | undefined; onMigrationRetry?: MigrationRetryListener | undefined; migrate?: boolean },
): OpenStoreOptions {
  const told =
    o.onMigrationRetry ??
    (o.log
      ? (reason: string, attempt: number, delayMs: number) =>
          o.log!.warn({ attempt, delayMs, reason }, 'migrations were aborted by PostgreSQL (a race with a running process, or a lock held too long); trying again')
      : undefined);
  return {
    databaseUrl: config.databaseUrl,
    directUrl: config.databaseDirectUrl,
    dataDir: config.dataDir,
    poolSize: o.poolSize,
    migrationLockTimeoutMs: config.migrationLockTimeoutMs,
    ...(told ? { onMigrationRetry: told } : {}),
    ...(o.migrate !== undefined ? { migrate: o.migrate } : {}),
  };
}
