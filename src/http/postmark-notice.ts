import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { BounceType, DeliveryNotice } from '../sequences/bounce.js';

/**
 * Postmark's bounce and spam-complaint webhooks (https://postmarkapp.com/developer/webhooks/bounce-webhook,
 * .../spam-complaint-webhook) as delivery notices. Only the fields Nurture reads are checked;
 * Postmark adds fields over time, and they are ignored.
 *
 * Hard bounces: `HardBounce`, `BadEmailAddress` (the address does not exist or cannot) and
 * `ManuallyDeactivated` (deactivated in Postmark by hand: it will not deliver there again). A
 * `SpamComplaint` (as its own record, or as a bounce type) is a complaint. Every other type
 * (`SoftBounce`, `Transient`, `DnsError`, `Blocked`, `SpamNotification`, `AutoResponder`, ...) is
 * recorded as a soft bounce: it says something about one message, not that the address is gone.
 */
const HARD_TYPES: ReadonlySet<string> = new Set(['HardBounce', 'BadEmailAddress', 'ManuallyDeactivated']);

export const postmarkPayloadSchema = z.looseObject({
  RecordType: z.string().min(1).max(100),
  // A number in Postmark's samples (4323372036854775807: more than a double holds exactly), or a string.
  ID: z.union([z.number(), z.string().min(1).max(100)]).optional(),
  Type: z.string().max(100).optional(),
  TypeCode: z.number().optional(),
  Email: z.string().max(254).optional(),
  BouncedAt: z.string().max(100).optional(),
  Description: z.string().max(2000).optional(),
  Details: z.string().max(2000).optional(),
});
export type PostmarkPayload = z.output<typeof postmarkPayloadSchema>;

export type PostmarkReading =
  | { kind: 'notice'; notice: DeliveryNotice & { email: string } }
  /** Another record type (Delivery, Open, Click, SubscriptionChange): not a bounce, answered 200 and left alone. */
  | { kind: 'ignored'; recordType: string };

/** `rawBody`: the bytes Postmark sent, for an ID a JavaScript number cannot hold exactly. */
export function readPostmark(p: PostmarkPayload, rawBody: Buffer | string, nowIso: string): PostmarkReading | { kind: 'invalid'; field: string; message: string } {
  if (p.RecordType !== 'Bounce' && p.RecordType !== 'SpamComplaint') return { kind: 'ignored', recordType: p.RecordType };
  const email = z.email().safeParse(p.Email?.trim());
  if (!email.success) return { kind: 'invalid', field: 'body.Email', message: `body.Email: ${JSON.stringify(p.Email ?? null)} is not an email address` };
  const complaint = p.RecordType === 'SpamComplaint' || p.Type === 'SpamComplaint';
  const bounceType: BounceType = !complaint && HARD_TYPES.has(p.Type ?? '') ? 'hard' : 'soft';
  const at = p.BouncedAt ? Date.parse(p.BouncedAt) : Number.NaN;
  const reason = [p.Type, p.Description, p.Details].filter((s) => s && s.trim()).join(': ') || p.RecordType;
  return {
    kind: 'notice',
    notice: {
      kind: complaint ? 'complaint' : 'bounce',
      bounceType,
      source: 'postmark',
      noticeId: `${p.RecordType}-${postmarkId(p, rawBody)}`,
      reason: reason.slice(0, 1000),
      occurredAt: Number.isNaN(at) || at > Date.parse(nowIso) ? nowIso : new Date(at).toISOString(),
      email: email.data.toLowerCase(),
    },
  };
}

/**
 * Postmark's id of the record, which a redelivery repeats. An ID beyond 2^53 loses digits in
 * JSON.parse, so it is read from the body as sent; a body without a usable ID is keyed by its hash.
 */
function postmarkId(p: PostmarkPayload, rawBody: Buffer | string): string {
  if (typeof p.ID === 'string') return p.ID;
  if (typeof p.ID === 'number' && Number.isSafeInteger(p.ID)) return String(p.ID);
  const text = typeof rawBody === 'string' ? rawBody : rawBody.toString('utf8');
  const digits = [...text.matchAll(/"ID"\s*:\s*(\d+)/g)].map((m) => m[1]!);
  if (digits.length === 1) return digits[0]!;
  return `sha256-${createHash('sha256').update(text).digest('hex')}`;
}
