import { z } from 'zod';
import type { MessageLinks } from './message-links.js';
import { decodeSubject, encodeSubject } from './message-links.js';

/**
 * The signed links of click and open tracking. A click token signs the target URL itself, with
 * the touch and the link's place in the message: the redirect goes only where the signed token
 * says, so `/c/...` is never an open redirect, and an altered token verifies as nothing.
 */
export interface ClickLink {
  touchId: string;
  /** 0-based place of the link in the message's HTML. */
  index: number;
  url: string;
}

/** Longer targets are left as they are (a token in a URL stays well under common 8 KB limits). */
export const MAX_TRACKED_URL = 2000;

const clickPayload = z.strictObject({
  t: z.uuid(),
  i: z.number().int().min(0),
  u: z.string().regex(/^https?:\/\//i).max(MAX_TRACKED_URL),
});

export function clickUrl(links: MessageLinks, link: ClickLink): string | undefined {
  if (link.url.length > MAX_TRACKED_URL) return undefined;
  return links.url('c', 'click', JSON.stringify({ t: link.touchId, i: link.index, u: link.url }));
}

/** The link a click token was signed for; undefined for anything altered, forged or of another purpose. */
export function clickOf(links: MessageLinks, token: string): ClickLink | undefined {
  const payload = links.signer.verify('click', token);
  if (payload === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(payload);
  } catch {
    return undefined;
  }
  const parsed = clickPayload.safeParse(json);
  return parsed.success ? { touchId: parsed.data.t, index: parsed.data.i, url: parsed.data.u } : undefined;
}

export function openPixelUrl(links: MessageLinks, touchId: string): string {
  return links.url('o', 'open', encodeSubject({ touchId }), '.gif');
}

/** The touch an open token was signed for. */
export function openOf(links: MessageLinks, token: string): { touchId: string } | undefined {
  const payload = links.signer.verify('open', token.replace(/\.gif$/, ''));
  const subject = payload === undefined ? undefined : decodeSubject(payload);
  return subject && 'touchId' in subject ? subject : undefined;
}
