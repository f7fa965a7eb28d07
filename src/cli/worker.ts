import type { Command } from 'commander';
import { ConfigError } from '../errors.js';
import { createLogger } from '../logger.js';
import { startEngine } from '../workers/runtime.js';
import { onShutdown } from '../workers/shutdown.js';
import { EXIT_INVALID, action, config } from './shared.js';
import { addScoringOption, scoringRulesFrom } from './scoring-option.js';
import { addDirectoryOption, readDirectory } from './directory-option.js';

export function register(program: Command): void {
  addDirectoryOption(addScoringOption(program.command('worker')))
    .description('run more event, wake-up and send workers (and a sweeper) against the same Redis and PostgreSQL')
    .option('--templates <dir>', 'directory of templates', './templates')
    // The sweepers of all processes take turns (a Postgres advisory lock), so each process runs one:
    // the work keeps being offered whichever process is left. --sweeper stays accepted (a no-op).
    .option('--sweeper', 'run a sweeper in this process (the default; kept for compatibility)')
    .option('--no-sweeper', 'do not run a sweeper in this process')
    .action(
      action(async (opts: { templates: string; sweeper?: boolean; scoring: string; directory: string }) => {
        const cfg = config();
        if (!cfg.databaseUrl) {
          throw new ConfigError(
            'nurture worker needs DATABASE_URL: the embedded store serves one process only. Run `nurture start` alone, or point every process at PostgreSQL (docker compose up -d postgres)',
          );
        }
        const log = createLogger(cfg.logLevel, { format: cfg.logFormat });
        // Every process of one deployment should be given the same file: scores are computed where events are applied.
        const scoring = await scoringRulesFrom(opts.scoring);
        log.info({ file: opts.scoring }, scoring ? 'lead scoring on' : 'lead scoring off: no scoring file');
        // Every process that sweeps should be given the same file: any of them may assign a task or fire its timer.
        const staff = await readDirectory(opts.directory);
        if (staff === false) return EXIT_INVALID;
        const engine = await startEngine({ config: cfg, templatesDir: opts.templates, sweeper: opts.sweeper !== false, mayLaunchRedis: false, serveEmbedded: false, log, scoring, staff });
        await onShutdown(log, () => engine.stop());
      }),
    );
}
