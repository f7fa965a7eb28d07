import type { Command } from 'commander';
import { createLogger } from '../logger.js';
import { startEngine } from '../workers/runtime.js';
import { onShutdown } from '../workers/shutdown.js';
import { validateForms } from '../app/validate-forms.js';
import { formatProblem } from '../errors.js';
import { EXIT_INVALID, action, config, stdout } from './shared.js';
import { addTopicsOption, readTopics } from './topics-option.js';
import { addTeamOption, readTeam } from './team-option.js';
import { addScoringOption, scoringRulesFrom } from './scoring-option.js';

export function register(program: Command): void {
  // Unsubscribes and resubscribes are applied here, so scores move here as they do in the workers.
  addTeamOption(addScoringOption(addTopicsOption(program.command('api'))))
    .description('serve HTTP alone (events, forms, unsubscribe, tracking): no workers, no sweeper; run the engine with `nurture start` or `nurture worker`')
    .option('--templates <dir>', 'directory of templates (for pages that render them)', './templates')
    .option('--forms <file>', 'hosted opt-in forms (a file that does not exist: no forms)', './forms.yaml')
    .action(
      action(async (opts: { templates: string; topics: string; forms: string; scoring: string; team: string }) => {
        const topics = await readTopics(opts.topics);
        if (!topics) {
          stdout.error(`not starting: fix ${opts.topics}`);
          return EXIT_INVALID;
        }
        const cfg = config();
        const log = createLogger(cfg.logLevel, { format: cfg.logFormat });
        const forms = await validateForms(opts.forms, opts.templates);
        for (const p of forms.problems) stdout.error(formatProblem(p));
        if (!forms.forms) {
          stdout.error(`not starting: problems in ${opts.forms} (run \`nurture validate --forms ${opts.forms}\`)`);
          return EXIT_INVALID;
        }
        const staff = await readTeam(opts.team);
        if (staff === 'invalid') {
          stdout.error(`not starting: fix ${opts.team}`);
          return EXIT_INVALID;
        }
        const scoring = await scoringRulesFrom(opts.scoring);
        const engine = await startEngine({
          config: cfg,
          scoring,
          templatesDir: opts.templates,
          sweeper: false,
          mayLaunchRedis: cfg.redisUrl === undefined,
          serveEmbedded: true,
          http: true,
          topics,
          forms: forms.forms.forms,
          workers: { events: false, wakes: false, sends: false },
          log,
          staff,
        });
        await onShutdown(log, () => engine.stop());
      }),
    );
}
