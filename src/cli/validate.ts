import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../config.js';
import { loadConfig } from '../config.js';
import type { Store } from '../db/database.js';
import { PGLITE_SUBDIR, openStore } from '../db/database.js';
import type { EditImpact } from '../engine/edit-impact.js';
import { editImpact, formatEditImpact, storedPrograms } from '../engine/edit-impact.js';
import { formatProblem } from '../errors.js';
import { validateProject } from '../engine/validate-project.js';
import type { LoadedSequence } from '../sequences/load.js';
import { EXIT_INVALID, action, stdout } from './shared.js';

export function register(program: Command): void {
  program
    .command('validate')
    .description('check sequence files and the templates they use; exit code 1 on any error')
    .argument('[dir]', 'directory of sequence files', './sequences')
    .option('--templates <dir>', 'directory of templates', './templates')
    .option('--json', 'print problems as JSON')
    .option('--impact', 'report what the edit does to contacts in flight (default: on when DATABASE_URL is set or the embedded store exists)')
    .option('--no-impact', 'skip the in-flight report')
    .action(
      action(async (dir: string, o: { templates: string; json?: boolean; impact?: boolean }) => {
        const check = await validateProject(dir, o.templates);
        const errors = check.problems.filter((p) => p.severity === 'error').length;
        const report = await inFlightReport(check.sequences, o.impact);
        if (o.json) {
          stdout.json({
            ok: errors === 0,
            sequences: check.sequences.map((s) => ({ id: s.program.sequenceId, version: s.program.version, file: s.file, steps: [...s.program.steps.keys()] })),
            problems: check.problems,
            impact: report && 'impact' in report ? report.impact : null,
            ...(report && 'skipped' in report ? { impactSkipped: report.skipped } : {}),
          });
        } else {
          for (const p of check.problems) stdout.line(formatProblem(p));
          for (const s of check.sequences) stdout.line(`ok ${s.file}: sequence ${s.program.sequenceId} (version ${s.program.version}, ${s.program.steps.size} steps)`);
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

/** null: no report wanted (or, by default, no store to read); `skipped`: wanted but not possible, and why. */
export type InFlightReport = { impact: EditImpact[] } | { skipped: string } | null;

export interface InFlightDeps {
  env?: NodeJS.ProcessEnv;
  /** Opens the store read-only (no migrations); tests pass their own. */
  open?: (cfg: Config) => Promise<Pick<Store, 'db' | 'close'>>;
}

const openForReport = (cfg: Config) => openStore({ databaseUrl: cfg.databaseUrl, dataDir: cfg.dataDir, poolSize: 1, migrate: false });

/**
 * What publishing these files would do to contacts in flight. `want` is --impact (true),
 * --no-impact (false) or neither (undefined: report when a store is configured). The report
 * never changes the exit code: a store that cannot be read is one line saying so.
 */
export async function inFlightReport(loaded: readonly LoadedSequence[], want: boolean | undefined, deps: InFlightDeps = {}): Promise<InFlightReport> {
  if (want === false) return null;
  let cfg: Config;
  try {
    cfg = loadConfig(deps.env ?? process.env);
  } catch (err) {
    return { skipped: (err as Error).message.replace(/\n\s*/g, ' ') };
  }
  const hasStore = cfg.databaseUrl !== undefined || existsSync(path.join(cfg.dataDir, PGLITE_SUBDIR));
  if (!hasStore) {
    return want ? { skipped: `no store to read (DATABASE_URL is unset and there is no embedded store in ${cfg.dataDir})` } : null;
  }
  let store: Pick<Store, 'db' | 'close'>;
  try {
    store = await (deps.open ?? openForReport)(cfg);
  } catch (err) {
    return { skipped: (err as Error).message };
  }
  try {
    return { impact: await editImpact(store.db, storedPrograms(store.db), loaded) };
  } catch (err) {
    const missing = (err as { code?: unknown }).code === '42P01'; // undefined_table
    return { skipped: missing ? 'the store has no tables yet (run `nurture migrate`)' : `the store could not be read: ${(err as Error).message}` };
  } finally {
    await store.close();
  }
}
