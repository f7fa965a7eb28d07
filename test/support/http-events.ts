import { signWebhook } from '../../src/security/standard-webhooks.js';

/** Helpers for tests of POST /v1/events: the request as a producer or a webhook sender makes it. */

export const API_KEY = 'test-api-key-0123456789abcdef';
export const OTHER_API_KEY = 'test-api-key-other-0123456789';
/** A Standard Webhooks secret as providers write them (`whsec_` then base64 of 32 bytes). */
export const WEBHOOK_SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
export const OLD_WEBHOOK_SECRET = `whsec_${Buffer.from('fedcba9876543210fedcba9876543210').toString('base64')}`;

let n = 0;
export function optIn(email: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: `http-${process.pid}-${Date.now()}-${n++}`, type: 'opt_in', occurredAt: new Date().toISOString(), contact: { email }, data: { source: 'website' }, ...extra };
}

export async function postEvents(base: string, body: unknown, o: { key?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(o.key === undefined ? {} : { authorization: `Bearer ${o.key}` }), ...o.headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // left as text: the test says what it expected
  }
  return { status: res.status, body: parsed };
}

export function webhookHeaders(secret: string, id: string, body: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(secret, id, timestamp, body) };
}
