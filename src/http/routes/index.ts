import type { RouteModule } from '../server.js';
import { healthRoutes } from './health.js';
import { preferencesRoutes } from './preferences.js';
import { unsubscribeRoutes } from './unsubscribe.js';

/** Every route module the server mounts. Append a line for each new file. */
export const ROUTES: readonly RouteModule[] = [
  healthRoutes,
  unsubscribeRoutes,
  preferencesRoutes,
];
