import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DateTime } from 'luxon';
import type { Config } from '../config.js';
import { ForbiddenError, UnauthorizedError } from '../errors.js';
import { verifyWebhook } from '../security/standard-webhooks.js';
import { errorBody } from './server.js';

/**
 * Guards for webhooks, run before the body is validated (a request that is not who it says gets
 * 401/403, never a hint about the body's shape).
 */

/** The webhook id of a request that passed `requireStandardWebhook`. */
declare module 'fastify' {
  interface FastifyRequest {
    webhookId?: string;
  }
}

/**
 * Standard Webhooks over the raw body with NURTURE_WEBHOOK_SECRETS (any of them verifies): 401
 * for a missing or wrong signature, 403 for a timestamp outside the tolerance (a replay), 403 when
 * no secret is configured (signed webhooks are off).
 */
export function requireStandardWebhook(config: Pick<Config, 'webhookSecrets'>, clock: () => DateTime) {
  return async (req: FastifyRequest): Promise<void> => {
    if (config.webhookSecrets.length === 0) throw new ForbiddenError('signed webhooks are off: set NURTURE_WEBHOOK_SECRETS to turn them on');
    const verdict = verifyWebhook({ secrets: config.webhookSecrets, headers: { 'webhook-id': req.headers['webhook-id'], 'webhook-timestamp': req.headers['webhook-timestamp'], 'webhook-signature': req.headers['webhook-signature'] }, body: req.rawBody ?? '', nowSeconds: Math.floor(clock().toSeconds()) });
    if (!verdict.ok) throw verdict.stale ? new ForbiddenError(verdict.reason) : new UnauthorizedError(verdict.reason);
    req.webhookId = verdict.id;
  };
}

/** HTTP Basic with fixed credentials (how Postmark authenticates its webhooks: `https://user:pass@host/...`). */
export function requireBasicCredentials(expected: { user: string; password: string } | undefined, what: { setting: string; name: string }) {
  const want = expected ? digest(`${expected.user}:${expected.password}`) : undefined;
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!want) {
      await reply.code(403).send(errorBody('FORBIDDEN', `the ${what.name} webhook is off: set ${what.setting} to turn it on`));
      return;
    }
    const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(req.headers.authorization ?? '');
    const given = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : undefined;
    if (given === undefined || !timingSafeEqual(digest(given), want)) {
      await reply
        .code(401)
        .header('www-authenticate', `Basic realm="nurture ${what.name}", charset="UTF-8"`)
        .send(errorBody('UNAUTHORIZED', `the ${what.name} webhook needs the user and password of ${what.setting}`));
    }
  };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
