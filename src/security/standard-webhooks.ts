import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks (https://www.standardwebhooks.com): the sender signs `id.timestamp.body`
 * with HMAC-SHA256 and sends `webhook-id`, `webhook-timestamp` (Unix seconds) and
 * `webhook-signature` (space-separated `v1,<base64>` entries, several during a key rotation).
 * Pure given the secrets and the clock; the webhook id is what a receiver dedupes on.
 */

/** How far a webhook's timestamp may be from the receiver's clock, either way (replays outside it are refused). */
export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

export type WebhookVerdict =
  | { ok: true; id: string; timestamp: number }
  /** `stale`: well signed or not, its timestamp is outside the tolerance (a replay, or a clock far off). */
  | { ok: false; reason: string; stale?: true };

export interface WebhookHeaders {
  'webhook-id'?: string | string[] | undefined;
  'webhook-timestamp'?: string | string[] | undefined;
  'webhook-signature'?: string | string[] | undefined;
}

/** The key bytes of a secret: `whsec_<base64>` as the spec writes them, or any other text as is. */
export function webhookKey(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret, 'utf8');
}

export function signWebhook(secret: string, id: string, timestamp: number, body: string | Buffer): string {
  return `v1,${digest(webhookKey(secret), id, timestamp, body).toString('base64')}`;
}

export function verifyWebhook(o: { secrets: readonly string[]; headers: WebhookHeaders; body: string | Buffer; nowSeconds: number }): WebhookVerdict {
  const id = one(o.headers['webhook-id']);
  const ts = one(o.headers['webhook-timestamp']);
  const sig = one(o.headers['webhook-signature']);
  if (!id || !ts || !sig) return { ok: false, reason: 'webhook-id, webhook-timestamp and webhook-signature headers are required' };
  if (id.length > 256) return { ok: false, reason: 'webhook-id is longer than 256 characters' };
  if (!/^\d{1,12}$/.test(ts)) return { ok: false, reason: `webhook-timestamp "${ts.slice(0, 40)}" is not Unix seconds` };
  const timestamp = Number(ts);
  if (Math.abs(o.nowSeconds - timestamp) > WEBHOOK_TOLERANCE_SECONDS) {
    return { ok: false, stale: true, reason: `webhook-timestamp ${timestamp} is more than ${WEBHOOK_TOLERANCE_SECONDS / 60} minutes from now (${o.nowSeconds}): refused as a possible replay` };
  }
  const given = sig
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => Buffer.from(s.slice(3), 'base64'));
  if (given.length === 0) return { ok: false, reason: 'webhook-signature has no v1 signature' };
  let ok = false;
  for (const secret of o.secrets) {
    const expected = digest(webhookKey(secret), id, timestamp, o.body);
    for (const g of given) if (g.length === expected.length && timingSafeEqual(g, expected)) ok = true;
  }
  return ok ? { ok: true, id, timestamp } : { ok: false, reason: 'webhook-signature does not match the body with any configured secret' };
}

function digest(key: Buffer, id: string, timestamp: number, body: string | Buffer): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
