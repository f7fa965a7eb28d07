import type { Queue } from 'bullmq';
import type { DateTime } from 'luxon';
import type { AppContext } from '../app/context.js';
import type { ReadinessReport } from '../app/check-readiness.js';
import type { EventIntake } from '../app/event-intake.js';
import type { MetricsExposition } from '../app/metrics.js';
import type { Config } from '../config.js';
import type { FormDefinition } from '../forms/form-config.js';
import type { ReadDb } from '../queries/read-db.js';
import type { MessageLinks } from '../security/message-links.js';
import type { Topic } from '../sequences/topics.js';

/**
 * What HTTP routes get: the use cases' context, the read models' database handle, the signed
 * links, the settings and a clock. Routes parse, call src/app or src/queries, and answer; they
 * never reach into src/db or src/engine themselves.
 */
export interface HttpContext {
  app: AppContext;
  read: ReadDb;
  config: Config;
  links: MessageLinks;
  clock: () => DateTime;
  readiness: () => Promise<ReadinessReport>;
  /** Where received events go (durable before an answer is given). */
  intake: EventIntake;
  /** This process's figures for Prometheus (GET /metrics). */
  metrics: MetricsExposition;
  /** This process's queues, for the operators' dashboard (/admin/queues). */
  queues: readonly Queue[];
  /** Topics of the preference page (topics.yaml). */
  topics: readonly Topic[];
  /** The hosted opt-in forms of forms.yaml, by id. */
  forms: ReadonlyMap<string, FormDefinition>;
}
