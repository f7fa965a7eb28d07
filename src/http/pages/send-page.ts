import type { FastifyReply } from 'fastify';

/**
 * Answers with an HTML page. Pages behind signed links must not leak the link: no Referer to
 * other sites, not cached, not indexed.
 */
export function sendPage(reply: FastifyReply, status: number, html: string): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .header('x-robots-tag', 'noindex')
    .send(html);
}
