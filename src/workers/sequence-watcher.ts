import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { checkPublishedSequences } from '../app/check-published-sequences.js';
import { formatProblem } from '../errors.js';
import { editImpact, formatEditImpact, storedPrograms } from '../engine/edit-impact.js';
import type { SequenceRegistry } from '../engine/sequence-registry.js';
import { validateProject } from '../app/validate-project.js';
import type { Logger } from '../logger.js';
import type { TemplateCache } from '../templates/compile.js';
import type { Topic } from '../sequences/topics.js';

const SETTLE_MS = 300;

/**
 * Live edits: the project is validated again and, if it is valid, the new versions go live
 * (contacts in flight move by step id or stay, as each file says), with what that does to them
 * in the log. An edit with errors is logged and changes nothing: the running versions stay.
 * `reload` runs on SIGHUP; with `watch`, also whenever a sequence or template file changes.
 */
export function watchSequences(o: {
  sequencesDir: string;
  templatesDir: string;
  /** The topics sequences may name (read once at start). */
  topics?: readonly Topic[];
  registry: SequenceRegistry;
  templates: TemplateCache;
  log: Logger;
  db: Parameters<typeof storedPrograms>[0];
  watch: boolean;
}): { close(): void; reload(): Promise<boolean> } {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<boolean> = Promise.resolve(true);

  const reload = async (): Promise<boolean> => {
    const check = await validateProject(o.sequencesDir, o.templatesDir, o.topics);
    const errors = check.problems.filter((p) => p.severity === 'error');
    if (errors.length > 0) {
      for (const p of errors) o.log.error({ problem: formatProblem(p) }, 'sequence edit rejected');
      o.log.error(`${errors.length} problem(s): the running sequences stay as they were`);
      return false;
    }
    try {
      for (const w of (await checkPublishedSequences(o.db, check.sequences, o.sequencesDir)).warnings) o.log.warn(w);
    } catch (err) {
      // A live sequence whose file was deleted: the same refusal as at start, never a silent keep.
      o.log.error(`${(err as Error).message.replace(/^not starting:/, 'edit rejected:')}\nthe running sequences stay as they were`);
      return false;
    }
    const impact = await editImpact(o.db, storedPrograms(o.db), check.sequences);
    for (const line of formatEditImpact(impact)) o.log.info(`in flight: ${line.trim()}`);
    o.templates.clear();
    for (const p of await o.registry.publish(check.sequences)) {
      if (p.previous !== p.version) o.log.info({ sequence: p.sequenceId, from: p.previous, to: p.version }, 'sequence changed: new version is live');
    }
    return true;
  };
  const onHangup = (): void => {
    o.log.info('SIGHUP: reloading sequences and templates');
    schedule();
  };
  process.on('SIGHUP', onHangup);
  const schedule = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      running = running.then(reload).catch((err: Error) => {
        o.log.error({ err: err.message }, 'reloading sequences failed');
        return false;
      });
    }, SETTLE_MS);
  };
  const watchers: FSWatcher[] = [];
  for (const dir of o.watch ? [o.sequencesDir, o.templatesDir] : []) {
    try {
      watchers.push(watch(dir, { recursive: false }, schedule));
    } catch (err) {
      o.log.warn({ dir, err: (err as Error).message }, 'cannot watch for edits; restart to pick them up');
    }
  }
  return {
    close() {
      process.off('SIGHUP', onHangup);
      if (timer) clearTimeout(timer);
      for (const w of watchers) w.close();
    },
    reload: () => (running = running.then(reload)),
  };
}
