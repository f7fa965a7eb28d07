import type { EngineDeps } from '../engine/engine-deps.js';
import type { Logger } from '../logger.js';
import type { TeamDirectory } from '../staff/directory.js';
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
  /** The team directory (team.yaml), when one is configured: assignment, SLAs, staff users. */
  staff?: TeamDirectory | undefined;
}
