import { createHash } from 'node:crypto';
import type { NurtureEvent } from './event.js';

/**
 * A delivery notice about an address: a bounce (hard or soft) or a spam complaint, from the SMTP
 * conversation itself, a signed webhook or a provider's callback. What each does, decided once:
 *
 * | notice          | suppression   | event applied to the contact                            |
 * | --------------- | ------------- | ------------------------------------------------------- |
 * | hard bounce     | `hard_bounce` | `bounced`: email stops (bounced_at, a stage change)     |
 * | complaint       | `complaint`   | `unsubscribed`: all nurture ends, as the person asked   |
 * | soft bounce     | none          | `soft_bounced`: recorded in the history, nothing stops  |
 *
 * A complaint ends nurture like an unsubscribe; unlike one, its suppression is never lifted by a
 * later opt-in (src/db/suppression-repository.ts `liftSuppression`).
 */
export type NoticeKind = 'bounce' | 'complaint';
export type BounceType = 'hard' | 'soft';

export interface DeliveryNotice {
  kind: NoticeKind;
  /** For bounces; a complaint is neither. */
  bounceType: BounceType;
  /** Where it came from: `smtp`, `webhook`, `postmark`. */
  source: string;
  /** The id the source gives the notice (webhook id, provider's bounce id, touch id): redeliveries share it. */
  noticeId: string;
  reason: string;
  /** ISO 8601 instant. */
  occurredAt: string;
  /** The Message-ID (without `<>`) or touch id of the email concerned, when known. */
  messageRef?: string | undefined;
}

export type NoticeSuppression = 'hard_bounce' | 'complaint';
export const SOFT_BOUNCE_EVENT = 'soft_bounced';

export interface NoticeDecision {
  suppression: NoticeSuppression | null;
  eventType: 'bounced' | 'unsubscribed' | typeof SOFT_BOUNCE_EVENT;
}

export function decideNotice(n: Pick<DeliveryNotice, 'kind' | 'bounceType'>): NoticeDecision {
  if (n.kind === 'complaint') return { suppression: 'complaint', eventType: 'unsubscribed' };
  return n.bounceType === 'hard' ? { suppression: 'hard_bounce', eventType: 'bounced' } : { suppression: null, eventType: SOFT_BOUNCE_EVENT };
}

const MAX_EVENT_ID = 200;

/** The event id of a notice: the same notice delivered again is the same event, applied once. */
export function noticeEventId(n: Pick<DeliveryNotice, 'kind' | 'source' | 'noticeId'>): string {
  const id = `${n.kind}-${n.source}-${n.noticeId}`;
  return id.length <= MAX_EVENT_ID ? id : `${n.kind}-${n.source}-sha256-${createHash('sha256').update(n.noticeId).digest('hex')}`;
}

/** The event the notice is recorded as on the contact with this address. */
export function noticeEvent(n: DeliveryNotice, email: string): NurtureEvent {
  const d = decideNotice(n);
  return {
    id: noticeEventId(n),
    type: d.eventType,
    occurredAt: n.occurredAt,
    contact: { email },
    data: {
      notice: n.kind,
      ...(n.kind === 'bounce' ? { bounceType: n.bounceType } : {}),
      source: n.source,
      reason: n.reason,
      ...(n.messageRef ? { messageId: n.messageRef } : {}),
    },
  };
}
