import type { Command } from 'commander';
import { formatEditImpact, inFlightReport } from '../app/in-flight-report.js';
import { formatProblem } from '../errors.js';
import { validateProject } from '../app/validate-project.js';
import { validateForms } from '../app/validate-forms.js';
import { EXIT_INVALID, action, stdout } from './shared.js';
import { loadScoringFile } from '../scoring/load.js';
import { DEFAULT_SCORING_FILE } from './scoring-option.js';
import { loadTopicsFile } from '../sequences/topics.js';
import { addDirectoryOption, checkDirectory, describeDirectory } from './directory-option.js';

export function register(program: Command): void {
  addDirectoryOption(program.command('validate'))
    .description('check sequence files and the templates they use; exit code 1 on any error')
    .argument('[dir]', 'directory of sequence files', './sequences')
    .option('--templates <dir>', 'directory of templates', './templates')
    .option('--topics <file>', 'topics people subscribe to one by one (missing file: no topics)', './topics.yaml')
    .option('--forms <file>', 'hosted opt-in forms to check too (a file that does not exist: no forms)', './forms.yaml')
    .option('--json', 'print problems as JSON')
    .option('--impact', 'report what the edit does to contacts in flight (default: on when DATABASE_URL is set or the embedded store exists)')
    .option('--no-impact', 'skip the in-flight report')
    .option('--scoring <file>', 'lead scoring rules to check (a missing file is fine: no scoring)', DEFAULT_SCORING_FILE)
    .action(
      action(async (dir: string, o: { templates: string; topics: string; forms: string; json?: boolean; impact?: boolean; scoring: string; directory: string }) => {
        const topics = await loadTopicsFile(o.topics);
        const check = await validateProject(dir, o.templates, topics.ok ? topics.topics : []);
        if (!topics.ok) check.problems.unshift(...topics.problems);
        const scoring = await loadScoringFile(o.scoring);
        if (scoring.status === 'invalid') check.problems.push(...scoring.problems);
        const formsCheck = await validateForms(o.forms, o.templates);
        check.problems.push(...formsCheck.problems);
        const team = await checkDirectory(o.directory);
        if (team.status === 'invalid') check.problems.push(...team.problems);
        const forms = formsCheck.forms ? [...formsCheck.forms.forms.values()] : [];
        const errors = check.problems.filter((p) => p.severity === 'error').length;
        const report = await inFlightReport(check.sequences, o.impact);
        if (o.json) {
          stdout.json({
            ok: errors === 0,
            sequences: check.sequences.map((s) => ({ id: s.program.sequenceId, version: s.program.version, file: s.file, steps: [...s.program.steps.keys()] })),
            forms: forms.map((f) => ({ id: f.id, version: f.version, doubleOptIn: f.doubleOptIn !== undefined, file: o.forms })),
            problems: check.problems,
            scoring: { file: o.scoring, status: scoring.status },
            directory: { file: o.directory, status: team.status, ...(team.status === 'ok' ? { users: team.directory.users.length, teams: team.directory.teams.length, rules: team.directory.rules.length } : {}) },
            impact: report && 'impact' in report ? report.impact : null,
            ...(report && 'skipped' in report ? { impactSkipped: report.skipped } : {}),
          });
        } else {
          for (const p of check.problems) stdout.line(formatProblem(p));
          for (const s of check.sequences) stdout.line(`ok ${s.file}: sequence ${s.program.sequenceId} (version ${s.program.version}, ${s.program.steps.size} steps)`);
          if (scoring.status === 'ok') {
            stdout.line(`ok ${o.scoring}: ${scoring.rules.fit.length} fit and ${scoring.rules.engagement.length} engagement rule(s), stages ${Object.keys(scoring.rules.stages).join(', ') || 'none'}`);
          }
          if (scoring.status === 'absent') stdout.line(`no ${o.scoring}: lead scoring is off`);
          if (team.status === 'ok') stdout.line(`ok ${o.directory}: ${describeDirectory(team.directory)}`);
          if (team.status === 'absent') stdout.line(`no ${o.directory}: no team directory, tasks are not assigned`);
          for (const f of forms) stdout.line(`ok ${o.forms}: form ${f.id} (version ${f.version}, ${f.doubleOptIn ? `double opt-in, template ${f.doubleOptIn.template}` : 'single opt-in'})`);
          if (report && 'impact' in report) {
            for (const line of formatEditImpact(report.impact)) stdout.line(line);
            if (report.impact.length === 0) stdout.line('in-flight report: no live sequence is changed by these files');
          }
          if (report && 'skipped' in report) stdout.line(`in-flight report skipped: ${report.skipped}`);
          stdout.line(
            errors === 0
              ? `${check.sequences.length} sequence(s) and ${check.templatesChecked} template(s) are valid`
              : `${errors} error(s) found`,
          );
        }
        return errors === 0 ? 0 : EXIT_INVALID;
      }),
    );
}

