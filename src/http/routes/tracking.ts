import { z } from 'zod';
import { recordClick, recordOpen } from '../../app/record-engagement.js';
import { TokenError } from '../../errors.js';
import type { RouteModule } from '../server.js';

/** The smallest transparent GIF: 1x1, one transparent colour. */
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

const token = z.string().min(1).max(4096);

/**
 * `/c/TOKEN`: a tracked link. Answers 302 to the URL the token was signed for (never to one
 * taken from the request) and records email_clicked; an altered token is a 400 that goes
 * nowhere. `/o/TOKEN.gif`: the open pixel, records email_opened.
 */
export const trackingRoutes: RouteModule = (server, ctx) => {
  // Generous per client: one person follows a few links; a scanner hitting every link is still answered (and flagged).
  const rateLimit = { max: 600, timeWindow: '1 minute' };

  server.get('/c/:token', { schema: { params: z.object({ token }) }, config: { rateLimit } }, async (req, reply) => {
    const outcome = await recordClick(ctx.app, ctx.intake, req.params.token, ctx.clock());
    if (!outcome.ok) throw new TokenError('this link is not valid: it was altered or is not a Nurture link');
    return reply.code(302).header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').redirect(outcome.target, 302);
  });

  server.get(
    '/o/:file',
    { schema: { params: z.object({ file: token.regex(/\.gif$/, 'is not a pixel address (TOKEN.gif)') }) }, config: { rateLimit } },
    async (req, reply) => {
      const outcome = await recordOpen(ctx.app, ctx.intake, req.params.file, ctx.clock());
      if (!outcome.ok) throw new TokenError('this pixel address is not valid: it was altered or is not a Nurture link');
      return reply.code(200).header('content-type', 'image/gif').header('cache-control', 'no-store, max-age=0').send(PIXEL);
    },
  );
};
