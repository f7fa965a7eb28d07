import type { RouteModule } from '../server.js';
import { dashboardRoutes } from './dashboard.js';
import { bounceRoutes } from './bounces.js';
import { formRoutes } from './forms.js';
import { eventsRoutes } from './events.js';
import { healthRoutes } from './health.js';
import { metricsRoutes } from './metrics.js';
import { queueBoardRoutes } from './queue-board.js';
import { trackingRoutes } from './tracking.js';
import { preferencesRoutes } from './preferences.js';
import { unsubscribeRoutes } from './unsubscribe.js';
import { viewRoutes } from './view.js';
import { icsRoutes } from './ics.js';
import { inboxRoutes } from '../inbox/routes.js';

/** Every route module the server mounts. Append a line for each new file. */
export const ROUTES: readonly RouteModule[] = [
  healthRoutes,
  metricsRoutes,
  queueBoardRoutes,
  dashboardRoutes,
  trackingRoutes,
  unsubscribeRoutes,
  viewRoutes,
  preferencesRoutes,
  bounceRoutes,
  formRoutes,
  eventsRoutes,
  icsRoutes,
  inboxRoutes,
];
