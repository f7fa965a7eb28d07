import type { RouteModule } from '../server.js';
import { healthRoutes } from './health.js';
import { trackingRoutes } from './tracking.js';

/** Every route module the server mounts. Append a line for each new file. */
export const ROUTES: readonly RouteModule[] = [
  healthRoutes,
  trackingRoutes,
];
