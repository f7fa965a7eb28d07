import type { RouteModule } from '../server.js';
import { eventsRoutes } from './events.js';
import { healthRoutes } from './health.js';

/** Every route module the server mounts. Append a line for each new file. */
export const ROUTES: readonly RouteModule[] = [
  healthRoutes,
  eventsRoutes,
];
