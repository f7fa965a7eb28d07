import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import type { WebhookHeaders } from '../security/standard-webhooks.js';
import { verifyWebhook } from '../security/standard-webhooks.js';
import { errorBody } from './server.js';

/** Who sent a request to POST /v1/events, once checked: the rate limit counts per credential. */
export interface EventCredential {
  kind: 'api' | 'webhook';
  /** A short digest of the key or secret that matched: a rate-limit bucket, never the secret itself. */
  id: string;
  /** For a webhook: its `webhook-id`, the idempotency key of the delivery. */
  webhookId?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    eventCredential?: EventCredential;
  }
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
const tag = (d: Buffer) => d.toString('hex').slice(0, 16);

/**
 * Checks the credentials of a request that hands in events: `Authorization: Bearer KEY` with a
 * key of NURTURE_API_KEYS (compared in constant time, as equal-length digests), or a Standard
 * Webhooks signature over the raw body with a secret of NURTURE_WEBHOOK_SECRETS. Without any key
 * or secret configured the route is off (403); no or wrong credentials are a 401 with the reason.
 */
export function requireEventCredentials(config: Pick<Config, 'apiKeys' | 'webhookSecrets'>, nowSeconds: () => number) {
  const keys = config.apiKeys.map(digest);
  const secrets = config.webhookSecrets;
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const refuse = (status: 401 | 403, message: string) => {
      const r = reply.code(status);
      if (status === 401) r.header('www-authenticate', 'Bearer realm="nurture"');
      return r.send(errorBody(status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN', message));
    };
    if (keys.length === 0 && secrets.length === 0) {
      await refuse(403, 'POST /v1/events is off: set NURTURE_API_KEYS (bearer keys) or NURTURE_WEBHOOK_SECRETS (signed webhooks) to turn it on');
      return;
    }
    const auth = req.headers.authorization;
    if (auth !== undefined) {
      const m = /^Bearer +(\S+) *$/i.exec(auth);
      if (!m) {
        await refuse(401, 'Authorization must be "Bearer KEY"');
        return;
      }
      const given = digest(m[1]!);
      let match: Buffer | undefined;
      // Every key is compared, so the time taken says nothing about which one nearly matched.
      for (const k of keys) if (timingSafeEqual(k, given)) match = k;
      if (!match) {
        await refuse(401, 'the bearer key is not one of NURTURE_API_KEYS');
        return;
      }
      req.eventCredential = { kind: 'api', id: `key:${tag(match)}` };
      return;
    }
    if (req.headers['webhook-signature'] !== undefined || req.headers['webhook-id'] !== undefined) {
      if (secrets.length === 0) {
        await refuse(403, 'signed webhooks are off: set NURTURE_WEBHOOK_SECRETS to turn them on');
        return;
      }
      const body = req.rawBody ?? (typeof req.body === 'string' ? req.body : undefined);
      if (body === undefined) {
        await refuse(401, 'a signed webhook must have a JSON body (Content-Type: application/json)');
        return;
      }
      const now = nowSeconds();
      let reason = '';
      let stale = false;
      // Secret by secret (not all at once): the one that verifies names the rate-limit bucket.
      for (const secret of secrets) {
        const v = verifyWebhook({ secrets: [secret], headers: req.headers as WebhookHeaders, body, nowSeconds: now });
        if (v.ok) {
          req.eventCredential = { kind: 'webhook', id: `webhook:${tag(digest(secret))}`, webhookId: v.id };
          return;
        }
        reason = v.reason;
        stale = v.stale === true;
      }
      // As on /v1/bounces: a timestamp outside the tolerance is a refused replay (403), a bad signature 401.
      await refuse(stale ? 403 : 401, reason);
      return;
    }
    await refuse(401, 'no credentials: send "Authorization: Bearer KEY" or a Standard Webhooks signature (webhook-id, webhook-timestamp, webhook-signature)');
  };
}
