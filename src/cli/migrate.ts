import type { Command } from 'commander';
import { openStore } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import { action, config, stdout } from './shared.js';

export function register(program: Command): void {
  program
    .command('migrate')
    .description('apply database migrations (also done at every start)')
    .action(
      action(async () => {
        const cfg = config();
        const store = await openStore({ databaseUrl: cfg.databaseUrl, dataDir: cfg.dataDir, poolSize: 2, migrate: false });
        try {
          const { applied } = await migrateToLatest(store.db);
          stdout.line(applied.length ? `applied ${applied.length} migration(s) to ${store.describe}: ${applied.join(', ')}` : `${store.describe} is up to date`);
        } finally {
          await store.close();
        }
      }),
    );
}
