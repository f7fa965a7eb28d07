import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { DateTime } from 'luxon';
import { withApp } from '../app/composition-root.js';
import type { RebuildReport } from '../app/rebuild-scores.js';
import { rebuildScores } from '../app/rebuild-scores.js';
import { emit } from './format.js';
import { action, config } from './shared.js';
import { addScoringOption, requiredScoringRules } from './scoring-option.js';

export function register(program: Command): void {
  const scores = program.command('scores').description('lead scores: recompute them after a change to scoring.yaml');
  addScoringOption(
    scores
      .command('rebuild')
      .description('recompute every contact\'s score and stage from the rules and the event log (run with --dry-run first)')
      .option('--dry-run', 'change nothing: say how many scores and stages would change')
      .option('--json', 'print the report as JSON'),
  ).action(
    action(async (o: { dryRun?: boolean; json?: boolean; scoring: string }) => {
      const rules = await requiredScoringRules(o.scoring);
      const bar = process.stderr.isTTY && !o.json ? new SingleBar({ format: 'scoring [{bar}] {percentage}% | {value}/{total} contacts | {eta_formatted} left', stream: process.stderr, hideCursor: true }) : undefined;
      let report: RebuildReport;
      try {
        report = await withApp(
          config(),
          (app) =>
            rebuildScores(app, rules, DateTime.utc(), {
              dryRun: o.dryRun,
              onProgress: (done, total) => (done === 0 ? bar?.start(total, 0) : bar?.update(done)),
            }),
          { scoring: rules },
        );
      } finally {
        bar?.stop();
      }
      emit({ data: report, text: rebuildText(report) }, o.json);
    }),
  );
}

export function rebuildText(r: RebuildReport): string {
  const verb = r.dryRun ? 'would change' : 'changed';
  const moved = r.moves.reduce((s, m) => s + m.contacts, 0);
  const lines = [`${r.contacts} contact(s) scored: ${r.changed} score(s) ${verb}; ${moved} contact(s) ${r.dryRun ? 'would change' : 'changed'} stage`];
  for (const m of r.moves) lines.push(`  ${m.move}: ${m.contacts}`);
  if (r.dryRun) lines.push('nothing was written (run without --dry-run to apply)');
  return lines.join('\n');
}
