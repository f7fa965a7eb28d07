import { z } from 'zod';
import { viewMessage } from '../../app/view-message.js';
import { invalidLinkPage, messageGonePage } from '../pages/subscription-pages.js';
import { sendPage } from '../pages/send-page.js';
import type { RouteModule } from '../server.js';

const params = z.object({ token: z.string().min(1).max(1024) });

/** `/v/TOKEN`: `{{links.view}}`, the email shown in the browser (signed, purpose `view`). */
export const viewRoutes: RouteModule = (server, ctx) => {
  server.get('/v/:token', { schema: { params }, config: { rateLimit: { max: 120, timeWindow: '1 minute' } } }, async (req, reply) => {
    const subject = ctx.links.subjectOf('view', req.params.token);
    if (!subject) return sendPage(reply, 400, invalidLinkPage());
    const viewed = await viewMessage(ctx.app, subject, ctx.clock());
    if (viewed.status !== 'found') return sendPage(reply, 404, messageGonePage());
    return sendPage(reply, 200, viewed.html);
  });
};
