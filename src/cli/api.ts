import type { Command } from 'commander';
import { createLogger } from '../logger.js';
import { startEngine } from '../workers/runtime.js';
import { onShutdown } from '../workers/shutdown.js';
import { EXIT_INVALID, action, config, stdout } from './shared.js';
import { addTopicsOption, readTopics } from './topics-option.js';

export function register(program: Command): void {
  addTopicsOption(program.command('api'))
    .description('serve HTTP alone (events, forms, unsubscribe, tracking): no workers, no sweeper; run the engine with `nurture start` or `nurture worker`')
    .option('--templates <dir>', 'directory of templates (for pages that render them)', './templates')
    .action(
      action(async (opts: { templates: string; topics: string }) => {
        const topics = await readTopics(opts.topics);
        if (!topics) {
          stdout.error(`not starting: fix ${opts.topics}`);
          return EXIT_INVALID;
        }
        const cfg = config();
        const log = createLogger(cfg.logLevel, { format: cfg.logFormat });
        const engine = await startEngine({
          config: cfg,
          templatesDir: opts.templates,
          sweeper: false,
          mayLaunchRedis: cfg.redisUrl === undefined,
          serveEmbedded: true,
          http: true,
          topics,
          workers: { events: false, wakes: false, sends: false },
          log,
        });
        await onShutdown(log, () => engine.stop());
      }),
    );
}
