import type { Command } from 'commander';
import type { CheckStatus } from '../app/doctor-checks.js';
import { runDoctor } from '../app/doctor.js';
import { EXIT_INVALID, action, stdout } from './shared.js';

const MARK: Record<CheckStatus, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', skip: 'skip' };

export function register(program: Command): void {
  program
    .command('doctor')
    .description('check this installation: settings, database, Redis (and its persistence), SMTP, clocks, DKIM key, sequences and templates; exit code 1 when something must be fixed')
    .option('--sequences <dir>', 'directory of sequence files', './sequences')
    .option('--templates <dir>', 'directory of templates', './templates')
    .option('--dkim-key <file>', 'a DKIM private key file to check')
    .option('--json', 'print the checks as JSON')
    .action(
      action(async (o: { sequences: string; templates: string; dkimKey?: string; json?: boolean }) => {
        const report = await runDoctor({ env: process.env, sequencesDir: o.sequences, templatesDir: o.templates, dkimKeyFile: o.dkimKey });
        if (o.json) stdout.json(report);
        else {
          for (const c of report.checks) {
            stdout.line(`${MARK[c.status]} ${c.name}: ${c.detail}`);
            if (c.fix && (c.status === 'warn' || c.status === 'fail')) stdout.line(`     fix: ${c.fix}`);
          }
          const failed = report.checks.filter((c) => c.status === 'fail').length;
          const warned = report.checks.filter((c) => c.status === 'warn').length;
          stdout.line(failed > 0 ? `${failed} problem(s) to fix, ${warned} warning(s)` : `nothing to fix${warned > 0 ? ` (${warned} warning(s))` : ''}`);
        }
        return report.ok ? 0 : EXIT_INVALID;
      }),
    );
}
