import type { Kysely } from 'kysely';
import type { ReadinessProbe } from '../app/check-readiness.js';
import { pingDatabase } from '../db/ping.js';
import type { Database } from '../db/schema.js';
import { mailTransportHealth } from '../db/service-health-repository.js';
import type { TransportMonitor } from '../templates/transport-health.js';
import type { RedisClient } from './redis-connection.js';

/**
 * The shell's side of /readyz (built by the runtime, handed to the server as a function): a query, a Redis PING, and the mail transport as this process
 * last saw it (or, in a process that sends no mail, as the senders last recorded it).
 */
export function readinessProbes(o: { db: Kysely<Database>; redis: RedisClient; mail: TransportMonitor | undefined }): ReadinessProbe[] {
  return [
    { name: 'database', check: async () => void (await pingDatabase(o.db)) },
    {
      name: 'redis',
      check: async () => {
        const answer = await o.redis.ping();
        return answer === 'PONG' ? undefined : `answered ${answer} to PING`;
      },
    },
    {
      name: 'mail',
      check: async () => {
        const seen = o.mail?.state() ?? (await mailTransportHealth(o.db));
        return seen.state === 'down' ? `mail transport down: ${seen.detail}` : undefined;
      },
    },
  ];
}
