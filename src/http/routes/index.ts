import type { RouteModule } from '../server.js';
import { healthRoutes } from './health.js';
import { metricsRoutes } from './metrics.js';
import { queueBoardRoutes } from './queue-board.js';

/** Every route module the server mounts. Append a line for each new file. */
export const ROUTES: readonly RouteModule[] = [
  healthRoutes,
  metricsRoutes,
  queueBoardRoutes,
];
