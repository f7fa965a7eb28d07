import type { Command } from 'commander';
import { migrateStore } from '../app/migrate-store.js';
import { action, config, stdout } from './shared.js';

export function register(program: Command): void {
  program
    .command('migrate')
    .description('apply database migrations (also done at every start)')
    .action(
      action(async () => {
        const { applied, store } = await migrateStore(config(), (reason, attempt, delayMs) =>
          stdout.error(`try ${attempt} of the migrations was aborted by PostgreSQL (${reason}); trying again in ${delayMs} ms`),
        );
        stdout.line(applied.length ? `applied ${applied.length} migration(s) to ${store}: ${applied.join(', ')}` : `${store} is up to date`);
      }),
    );
}
