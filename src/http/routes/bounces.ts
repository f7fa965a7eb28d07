import { z } from 'zod';
import { recordNotice } from '../../app/record-notice.js';
import { InputError, InternalError } from '../../errors.js';
import { postmarkPayloadSchema, readPostmark } from '../postmark-notice.js';
import type { RouteModule } from '../server.js';
import { requireBasicCredentials, requireStandardWebhook } from '../webhook-auth.js';

/**
 * Bounce and complaint notices from whoever delivers the mail: `POST /v1/bounces` in Nurture's
 * own shape, signed with Standard Webhooks, and `POST /v1/bounces/postmark` in Postmark's,
 * behind HTTP Basic. Both record the notice through src/app/record-notice.ts.
 */
const noticeBody = z
  .strictObject({
    type: z.enum(['bounce', 'complaint']),
    email: z.email({ message: 'is not an email address' }).max(254).optional(),
    /** The Message-ID Nurture sent (`touch-<touchId>@domain`, with or without `<>`), or the touch id. */
    messageId: z.string().trim().min(1).max(998).optional(),
    bounceType: z.enum(['hard', 'soft']).optional(),
    reason: z.string().trim().min(1).max(1000),
    occurredAt: z.iso.datetime({ offset: true, message: 'is not an ISO 8601 instant with Z or an offset' }).optional(),
  })
  .superRefine((b, ctx) => {
    if (!b.email && !b.messageId) ctx.addIssue({ code: 'custom', path: ['email'], message: 'give email or messageId (the Message-ID Nurture sent)' });
    if (b.type === 'bounce' && !b.bounceType) ctx.addIssue({ code: 'custom', path: ['bounceType'], message: 'a bounce needs bounceType: hard or soft' });
  });

const recorded = z.object({
  status: z.literal('accepted'),
  email: z.string().nullable(),
  suppressed: z.enum(['hard_bounce', 'complaint']).nullable(),
  eventId: z.string().nullable(),
});

const LIMIT = { max: 1200, timeWindow: '1 minute' };

export const bounceRoutes: RouteModule = (server, ctx) => {
  server.post(
    '/v1/bounces',
    {
      schema: { body: noticeBody, response: { 202: recorded } },
      preValidation: requireStandardWebhook(ctx.config, ctx.clock),
      config: { rateLimit: LIMIT },
    },
    async (req, reply) => {
      const b = req.body;
      const now = ctx.clock();
      if (!req.webhookId) throw new InternalError('a signed webhook without its id');
      const r = await recordNotice(
        ctx.app,
        ctx.intake,
        {
          kind: b.type,
          bounceType: b.bounceType ?? 'hard',
          source: 'webhook',
          noticeId: req.webhookId,
          reason: b.reason,
          // A sender's clock ahead of ours is not a notice from the future: it happened by now.
          occurredAt: new Date(Math.min(b.occurredAt ? Date.parse(b.occurredAt) : Infinity, now.toMillis())).toISOString(),
          email: b.email,
          messageRef: b.messageId?.replace(/^<|>$/g, ''),
        },
        now,
      );
      return reply.code(202).send({ status: 'accepted' as const, ...r });
    },
  );

  server.post(
    '/v1/bounces/postmark',
    {
      schema: { body: postmarkPayloadSchema, response: { 200: z.union([recorded, z.object({ status: z.literal('ignored'), recordType: z.string() })]) } },
      preValidation: requireBasicCredentials(ctx.config.postmarkWebhookAuth, { setting: 'NURTURE_POSTMARK_WEBHOOK_AUTH', name: 'Postmark' }),
      config: { rateLimit: LIMIT },
    },
    async (req, reply) => {
      const now = ctx.clock();
      const read = readPostmark(req.body, req.rawBody ?? '', now.toUTC().toISO()!);
      if (read.kind === 'invalid') throw new InputError(read.message);
      if (read.kind === 'ignored') return reply.code(200).send({ status: 'ignored' as const, recordType: read.recordType });
      const r = await recordNotice(ctx.app, ctx.intake, read.notice, now);
      return reply.code(200).send({ status: 'accepted' as const, ...r });
    },
  );
};
