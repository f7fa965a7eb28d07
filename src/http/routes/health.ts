import { z } from 'zod';
import type { RouteModule } from '../server.js';

const checkSchema = z.object({ name: z.enum(['database', 'redis', 'mail']), ok: z.boolean(), reason: z.string().optional() });
const readySchema = z.object({ status: z.enum(['ready', 'unavailable']), checks: z.array(checkSchema) });

/**
 * `/healthz`: the process is up (a container's liveness). `/readyz`: it can do its work, i.e.
 * the database, Redis and the mail transport answer; a 503 names the one that does not.
 */
export const healthRoutes: RouteModule = (server, ctx) => {
  server.get('/healthz', { schema: { response: { 200: z.object({ status: z.literal('ok') }) } } }, () => ({ status: 'ok' as const }));

  server.get(
    '/readyz',
    { schema: { response: { 200: readySchema, 503: readySchema.extend({ error: z.object({ code: z.literal('SERVICE_UNAVAILABLE'), message: z.string() }) }) } } },
    async (_req, reply) => {
      const report = await ctx.readiness();
      if (report.ready) return reply.code(200).send({ status: 'ready', checks: report.checks });
      const down = report.checks.filter((c) => !c.ok);
      const message = `not ready: ${down.map((c) => `${c.name}: ${c.reason ?? 'not answering'}`).join('; ')}`;
      return reply.code(503).send({ status: 'unavailable', checks: report.checks, error: { code: 'SERVICE_UNAVAILABLE', message } });
    },
  );
};
