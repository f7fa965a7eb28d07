import type { RouteModule } from '../server.js';

/**
 * `/metrics`: this process's figures in Prometheus's text format (see "Operations" in the
 * README). Open like /healthz: it holds counts only, never an address or an id; keep the port
 * off the public internet, or scrape through the proxy with its own protection.
 */
export const metricsRoutes: RouteModule = (server, ctx) => {
  server.get('/metrics', async (_req, reply) => {
    const { contentType, body } = await ctx.metrics.render();
    return reply.header('content-type', contentType).send(body);
  });
};
