import type { RouteModule } from '../server.js';
import { formRoutes } from './forms.js';
import { healthRoutes } from './health.js';

/** Every route module the server mounts. Append a line for each new file. */
export const ROUTES: readonly RouteModule[] = [
  healthRoutes,
  formRoutes,
];
