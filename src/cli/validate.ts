import type { Command } from 'commander';
import { formatProblem } from '../errors.js';
import { validateProject } from '../engine/validate-project.js';
import { EXIT_INVALID, action, stdout } from './shared.js';

export function register(program: Command): void {
  program
    .command('validate')
    .description('check sequence files and the templates they use; exit code 1 on any error')
    .argument('[dir]', 'directory of sequence files', './sequences')
    .option('--templates <dir>', 'directory of templates', './templates')
    .option('--json', 'print problems as JSON')
    .action(
      action(async (dir: string, o: { templates: string; json?: boolean }) => {
        const check = await validateProject(dir, o.templates);
        const errors = check.problems.filter((p) => p.severity === 'error').length;
        if (o.json) {
          stdout.json({
            ok: errors === 0,
            sequences: check.sequences.map((s) => ({ id: s.program.sequenceId, version: s.program.version, file: s.file, steps: [...s.program.steps.keys()] })),
            problems: check.problems,
          });
        } else {
          for (const p of check.problems) stdout.line(formatProblem(p));
          for (const s of check.sequences) stdout.line(`ok ${s.file}: sequence ${s.program.sequenceId} (version ${s.program.version}, ${s.program.steps.size} steps)`);
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
