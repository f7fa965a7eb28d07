import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { requireAdmin } from '../admin-auth.js';
import type { RouteModule } from '../server.js';

export const QUEUE_BOARD_PATH = '/admin/queues';

/**
 * `/admin/queues`: bull-board, BullMQ's dashboard (jobs waiting, delayed, failed, with their
 * data and errors; retry or remove one), behind the operator password. It reaches the queues
 * of this process; in a process that holds none (a metrics-only server) it is not mounted.
 */
export const queueBoardRoutes: RouteModule = async (server, ctx) => {
  if (ctx.queues.length === 0) return;
  const adapter = new FastifyAdapter();
  adapter.setBasePath(QUEUE_BOARD_PATH);
  createBullBoard({ queues: ctx.queues.map((q) => new BullMQAdapter(q)), serverAdapter: adapter, options: { uiConfig: { boardTitle: 'Nurture queues' } } });
  await server.register(
    async (scope) => {
      // In its own scope: the hook guards the board's routes and no other.
      scope.addHook('onRequest', requireAdmin(ctx.config));
      await scope.register(adapter.registerPlugin(), { prefix: QUEUE_BOARD_PATH });
    },
  );
};
