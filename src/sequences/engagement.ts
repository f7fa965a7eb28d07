import type { DateTime } from 'luxon';

/**
 * Link scanners (mail security gateways, Outlook's Safe Links, Apple's privacy protection) open
 * and click a message's links within moments of delivery, several at once. Such hits are kept
 * (with `data.suspectedScanner: true`) but are not engagement: no wait_for, condition, trigger,
 * exit or goal counts them. Pure: the times come in.
 */

/** Hits closer than this to the delivery, or to the previous hit on the same message, are a scanner's. */
export const SCANNER_WINDOW_MS = 1000;

export interface HitTiming {
  /** When the message was handed to the mail server; undefined if unknown (not yet marked sent). */
  sentAt: DateTime | undefined;
  /** The previous click on the same message, if any. */
  previousHitAt: DateTime | undefined;
  now: DateTime;
}

export type ScannerReason = 'after_delivery' | 'burst';

/** Why this hit looks like a scanner's, or undefined when a person may have made it. */
export function scannerReason(t: HitTiming): ScannerReason | undefined {
  if (t.sentAt && Math.abs(t.now.toMillis() - t.sentAt.toMillis()) < SCANNER_WINDOW_MS) return 'after_delivery';
  if (t.previousHitAt && Math.abs(t.now.toMillis() - t.previousHitAt.toMillis()) < SCANNER_WINDOW_MS) return 'burst';
  return undefined;
}

/** Whether an event counts as something the contact did (false for hits flagged as a scanner's). */
export function countsAsEngagement(data: Readonly<Record<string, unknown>>): boolean {
  return data['suspectedScanner'] !== true;
}
