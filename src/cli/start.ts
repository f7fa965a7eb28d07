import type { Command } from 'commander';
import { createLogger } from '../logger.js';
import { formatProblem } from '../errors.js';
import { validateProject } from '../app/validate-project.js';
import { validateForms } from '../app/validate-forms.js';
import { startEngine } from '../workers/runtime.js';
import { onShutdown } from '../workers/shutdown.js';
import { EXIT_INVALID, action, addDirOptions, config, stdout } from './shared.js';
import { addScoringOption, scoringRulesFrom } from './scoring-option.js';
import { addTopicsOption, readTopics } from './topics-option.js';
import { addTeamOption, readTeam } from './team-option.js';

export function register(program: Command): void {
  addTeamOption(addTopicsOption(addScoringOption(addDirOptions(program.command('start')))))
    .description('run the engine: event, wake-up and send workers plus the sweeper, in one process')
    .option('--no-http', 'do not serve HTTP from this process (run `nurture api` elsewhere)')
    .option('--forms <file>', 'hosted opt-in forms (a file that does not exist: no forms)', './forms.yaml')
    .option('--watch', 'publish valid edits to sequence and template files as soon as they are saved (otherwise: on SIGHUP or restart)')
    .action(
      action(async (opts: { sequences: string; templates: string; topics: string; forms: string; watch?: boolean; http: boolean; scoring: string; team: string }) => {
        const cfg = config();
        const log = createLogger(cfg.logLevel, { format: cfg.logFormat });
        const topics = await readTopics(opts.topics);
        if (!topics) {
          stdout.error(`not starting: fix ${opts.topics} (run \`nurture validate --topics ${opts.topics}\`)`);
          return EXIT_INVALID;
        }
        const check = await validateProject(opts.sequences, opts.templates, topics);
        const forms = await validateForms(opts.forms, opts.templates);
        const problems = [...check.problems, ...forms.problems];
        const errors = problems.filter((p) => p.severity === 'error');
        for (const p of problems) stdout.error(formatProblem(p));
        if (errors.length > 0) {
          stdout.error(`not starting: ${errors.length} problem(s) in ${opts.sequences} / ${opts.templates} / ${opts.forms} (run \`nurture validate\`)`);
          return EXIT_INVALID;
        }
        const staff = await readTeam(opts.team);
        if (staff === 'invalid') {
          stdout.error(`not starting: fix ${opts.team}`);
          return EXIT_INVALID;
        }
        const scoring = await scoringRulesFrom(opts.scoring);
        log.info({ file: opts.scoring, rules: scoring ? scoring.fit.length + scoring.engagement.length : 0 }, scoring ? 'lead scoring on' : 'lead scoring off: no scoring file');
        const engine = await startEngine({
          config: cfg,
          templatesDir: opts.templates,
          publish: check.sequences,
          topics,
          sweeper: true,
          mayLaunchRedis: cfg.redisUrl === undefined,
          serveEmbedded: true,
          http: opts.http,
          forms: forms.forms?.forms,
          log,
          reload: { sequencesDir: opts.sequences, watch: opts.watch ?? false },
          scoring,
          staff,
        });
        await onShutdown(log, () => engine.stop());
      }),
    );
}
