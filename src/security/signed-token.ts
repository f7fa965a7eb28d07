import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Links Nurture puts in mail (unsubscribe, preferences, clicks, opens, confirmations) carry a
 * signed token instead of a database id: anyone may hold the link, nobody may forge or alter
 * one. Pure given the secrets: no clock, no storage.
 *
 * A token is `base64url(payload).base64url(mac)`, the MAC an HMAC-SHA256 over the purpose and
 * the payload, cut to 128 bits (enough against forgery, short enough for a URL). The purpose
 * is part of what is signed, so a click token cannot be replayed as an unsubscribe token.
 * Several secrets verify (rotation); the first one signs.
 */
export type TokenPurpose = 'unsubscribe' | 'preferences' | 'click' | 'open' | 'view' | 'confirm' | 'calendar' | 'staff_calendar';

const MAC_BYTES = 16;

export class TokenSigner {
  private readonly keys: readonly Buffer[];

  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new Error('TokenSigner needs at least one secret');
    this.keys = secrets.map((s) => Buffer.from(s, 'utf8'));
  }

  sign(purpose: TokenPurpose, payload: string): string {
    return `${Buffer.from(payload, 'utf8').toString('base64url')}.${mac(this.keys[0]!, purpose, payload).toString('base64url')}`;
  }

  /** The payload of a token signed for `purpose` with any of the secrets; undefined for anything else. */
  verify(purpose: TokenPurpose, token: string): string | undefined {
    if (typeof token !== 'string' || token.length > 4096) return undefined;
    const dot = token.indexOf('.');
    if (dot <= 0 || dot !== token.lastIndexOf('.')) return undefined;
    const body = token.slice(0, dot);
    const given = token.slice(dot + 1);
    if (!/^[A-Za-z0-9_-]+$/.test(body) || !/^[A-Za-z0-9_-]+$/.test(given)) return undefined;
    const payload = Buffer.from(body, 'base64url').toString('utf8');
    // base64url decoding is lenient: a token whose text is not the canonical encoding was altered.
    if (Buffer.from(payload, 'utf8').toString('base64url') !== body) return undefined;
    const givenMac = Buffer.from(given, 'base64url');
    if (givenMac.length !== MAC_BYTES || givenMac.toString('base64url') !== given) return undefined;
    let ok = false;
    // Every key is tried, whatever matched, so the time taken does not say which one did.
    for (const key of this.keys) ok = timingSafeEqual(mac(key, purpose, payload), givenMac) || ok;
    return ok ? payload : undefined;
  }
}

function mac(key: Buffer, purpose: TokenPurpose, payload: string): Buffer {
  return createHmac('sha256', key).update(`nurture:${purpose}\n`).update(payload).digest().subarray(0, MAC_BYTES);
}
