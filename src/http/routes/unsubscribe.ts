import multipart from '@fastify/multipart';
import { z } from 'zod';
import { unsubscribeContact } from '../../app/unsubscribe-contact.js';
import { InputError, TokenError } from '../../errors.js';
import { confirmUnsubscribePage, invalidLinkPage, unknownContactPage, unsubscribedPage } from '../pages/subscription-pages.js';
import { sendPage } from '../pages/send-page.js';
import type { HttpContext } from '../context.js';
import type { NurtureServer, RouteModule } from '../server.js';

const params = z.object({ token: z.string().min(1).max(1024) });
// RFC 8058: the mail client posts exactly `List-Unsubscribe=One-Click`; our own page posts `confirm=yes`.
const body = z.object({ 'List-Unsubscribe': z.literal('One-Click').optional(), confirm: z.literal('yes').optional() });
// Generous per client: a mailbox provider posts the one-click requests of all its users.
const rateLimit = { max: 600, timeWindow: '1 minute' };

/**
 * `/u/TOKEN`: the unsubscribe link of every email (List-Unsubscribe header and
 * `{{links.unsubscribe}}`). POST unsubscribes at once, with no cookie and no login (RFC 8058
 * one-click), and answers 200 however often it comes; GET only shows a page with the button,
 * because link scanners and previews follow GETs. A token that does not verify changes nothing.
 */
export const unsubscribeRoutes: RouteModule = async (server, ctx) => {
  server.get('/u/:token', { schema: { params }, config: { rateLimit } }, async (req, reply) => {
    const subject = ctx.links.subjectOf('unsubscribe', req.params.token);
    if (!subject) return sendPage(reply, 400, invalidLinkPage());
    return sendPage(reply, 200, confirmUnsubscribePage(ctx.links.standard(subject).preferences));
  });

  // RFC 8058 asks mail clients for multipart/form-data (urlencoded is allowed too): parsed for
  // this route only, in a scope of its own, with no files and small fields.
  await server.register(async (scoped: NurtureServer) => {
    await scoped.register(multipart, { attachFieldsToBody: 'keyValues', limits: { files: 0, fields: 10, fieldSize: 1024, parts: 10 } });
    oneClick(scoped, ctx);
  });
};

function oneClick(server: NurtureServer, ctx: HttpContext): void {
  // No rate limit on the POST: mailbox providers send every user's one-click from a few addresses,
  // and a 429 would be an unsubscribe lost. A token is checked (one HMAC) before any database
  // work, and a valid one only ever unsubscribes its own contact, once.
  server.post('/u/:token', { schema: { params, body } }, async (req, reply) => {
    const subject = ctx.links.subjectOf('unsubscribe', req.params.token);
    if (!subject) throw new TokenError('this unsubscribe link is not valid (altered or incomplete): nothing was changed');
    const source = req.body['List-Unsubscribe'] === 'One-Click' ? 'one-click' : req.body.confirm === 'yes' ? 'page' : undefined;
    if (!source) throw new InputError('body: send List-Unsubscribe=One-Click (RFC 8058) or confirm=yes');
    const result = await unsubscribeContact(ctx.app, { subject, source, ip: req.ip, userAgent: req.headers['user-agent'] }, ctx.clock());
    if (result.status === 'unknown') return sendPage(reply, 200, unknownContactPage());
    return sendPage(reply, 200, unsubscribedPage(result.email, ctx.links.standard(subject).preferences));
  });
}
