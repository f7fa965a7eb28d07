import type { EngineDeps } from '../engine/engine-deps.js';
import type { Logger } from '../logger.js';
import type { OutcomeMap } from '../staff/outcomes.js';
import type { Scheduler } from './scheduler.js';

/**
 * What every use case gets, whoever calls it (a CLI command, a worker, an HTTP route): the
 * engine's dependencies, where follow-up work goes, and a logger. Built once per process by the
 * composition root (src/app/composition-root.ts).
 */
export interface AppContext {
  deps: EngineDeps;
  scheduler: Scheduler;
  log: Logger;
  /** The team's settings (team.yaml), when there is one: `outcomes` declares task outcomes per kind. */
  staff?: { outcomes?: OutcomeMap | undefined } | undefined;
}
