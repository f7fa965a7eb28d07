import type { AddressInfo } from 'node:net';
import type { HttpContext } from './context.js';
import { ROUTES } from './routes/index.js';
import { buildServer } from './server.js';
import type { RouteModule } from './server.js';

export interface RunningHttpServer {
  /** `http://host:port` where it listens (the real port when 0 was asked for). */
  url: string;
  port: number;
  /** Stops taking connections and waits for requests in flight. */
  close(): Promise<void>;
}

export async function startHttpServer(ctx: HttpContext, o: { host: string; port: number; routes?: readonly RouteModule[] }): Promise<RunningHttpServer> {
  const server = await buildServer(ctx, { routes: o.routes ?? ROUTES });
  await server.listen({ host: o.host, port: o.port });
  const address = server.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { url: `http://${host}:${address.port}`, port: address.port, close: () => server.close() };
}
