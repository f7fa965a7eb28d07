import { z } from 'zod';
import { MAX_BATCH, parseEventBatch } from '../../sequences/event-batch.js';
import { requireEventCredentials } from '../event-credentials.js';
import type { RouteModule } from '../server.js';
import { errorBody } from '../server.js';

const problemSchema = z.object({ index: z.number().int(), id: z.string().nullable(), field: z.string(), message: z.string() });
const acceptedSchema = z.object({ accepted: z.array(z.string()), replay: z.boolean() });
const invalidSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), field: z.string().optional(), items: z.array(problemSchema).optional() }),
});

/** One event (an object) or a batch (an array); the items are checked one by one in the handler, so every bad one is named. */
const bodySchema = z.unknown().superRefine((b, ctx) => {
  if (Array.isArray(b)) {
    if (b.length > MAX_BATCH) ctx.addIssue({ code: 'custom', message: `a batch holds at most ${MAX_BATCH.toLocaleString('en')} events, this one ${b.length.toLocaleString('en')}; send them in several requests` });
  } else if (typeof b !== 'object' || b === null) {
    ctx.addIssue({ code: 'custom', message: 'must be an event (a JSON object) or a batch of them (a JSON array)' });
  }
});

/**
 * `POST /v1/events`: one event (an object) or a batch (an array, at most MAX_BATCH), in the
 * queue's event format. A batch is taken whole or not at all: a 400 lists every bad item. A 202
 * is answered once the events are committed (the EventIntake), so they survive a lost Redis.
 */
export const eventsRoutes: RouteModule = (server, ctx) => {
  const credentials = requireEventCredentials(ctx.config, () => Math.floor(ctx.clock().toSeconds()));
  server.post(
    '/v1/events',
    {
      preValidation: credentials,
      config: {
        rateLimit: {
          max: ctx.config.eventsRateLimit,
          timeWindow: 60_000,
          // After the credentials are checked, so the count is per key or webhook secret.
          hook: 'preValidation',
          keyGenerator: (req) => req.eventCredential?.id ?? req.ip,
        },
      },
      schema: {
        body: bodySchema,
        response: { 202: acceptedSchema, 400: invalidSchema },
      },
    },
    async (req, reply) => {
      const items: unknown[] = Array.isArray(req.body) ? req.body : [req.body];
      if (items.length === 0) return reply.code(400).send(errorBody('INPUT_INVALID', 'body: the batch is empty', 'body'));
      const batch = parseEventBatch(items, { now: ctx.clock(), maxFutureSkew: ctx.config.maxFutureSkew });
      if (!batch.ok) {
        const n = batch.problems.length;
        const first = batch.problems[0]!;
        const message = `${n} of ${items.length} event${items.length === 1 ? '' : 's'} ${n === 1 ? 'is' : 'are'} invalid; none was accepted. [${first.index}] ${first.message}`;
        return reply.code(400).send({ error: { ...errorBody('INPUT_INVALID', message).error, items: batch.problems } });
      }
      const credential = req.eventCredential!;
      const receipt = await ctx.intake.accept(batch.events, { source: credential.kind, webhookId: credential.webhookId });
      return reply.code(202).send(receipt);
    },
  );
};
