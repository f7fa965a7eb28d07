import { catchUpReportRollups } from '../db/report-rollup-repository.js';
import type { AppContext } from './context.js';

/**
 * Recomputes the report rollups of the contacts written since the last catch-up (see
 * catchUpReportRollups). Reports do it themselves before they read; the engine does it every few
 * seconds too, so that a report rarely has more than a few seconds of writes to catch up on.
 */
export async function catchUpReports(ctx: Pick<AppContext, 'deps'>): Promise<number> {
  return catchUpReportRollups(ctx.deps.db);
}
