import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { NO_SCORING } from '../../src/scoring/rules.js';
import { computeScore } from '../../src/scoring/score.js';
import { MessageLinks } from '../../src/security/message-links.js';
import { TokenSigner } from '../../src/security/signed-token.js';
import { clickOf, clickUrl, openOf, openPixelUrl } from '../../src/security/tracking-links.js';
import type { HistoryEntry } from '../../src/sequences/conditions.js';
import { evaluate } from '../../src/sequences/conditions.js';
import type { Contact } from '../../src/sequences/contact.js';
import { SCANNER_WINDOW_MS, countsAsEngagement, scannerReason } from '../../src/sequences/engagement.js';
import { matchesEvent } from '../../src/sequences/match.js';
import { decideLifecycle } from '../../src/sequences/stage.js';
import { addTracking, linkTargets } from '../../src/templates/track-links.js';
import { TEST_LINK_CONFIG } from '../support/engine.js';

const links = new MessageLinks(TEST_LINK_CONFIG);
const TOUCH = '6f1e0c8a-0000-4000-8000-000000000001';

describe('addTracking', () => {
  const click = (url: string, i: number) => `https://n.test/c/${i}?${encodeURIComponent(url)}`;

  it('rewrites http(s) links in order, decoding what Handlebars escaped, and leaves the rest of the HTML as it was', () => {
    const html = '<p><a class="x" href="https://a.example/?q&#x3D;1&amp;b=2">A</a> <a href=\'http://b.example\'>B</a> <a href="mailto:x@y.z">m</a> <a href="#top">t</a></p>';
    expect(addTracking(html, { click })).toBe(
      `<p><a class="x" href="https://n.test/c/0?${encodeURIComponent('https://a.example/?q=1&b=2')}">A</a> <a href="https://n.test/c/1?${encodeURIComponent('http://b.example')}">B</a> <a href="mailto:x@y.z">m</a> <a href="#top">t</a></p>`,
    );
    expect(linkTargets(html)).toEqual(['https://a.example/?q=1&b=2', 'http://b.example', 'mailto:x@y.z', '#top']);
  });

  it('keeps the links it is told to keep, and those marked data-nurture-track="off"', () => {
    const html = '<a href="https://n.test/u/TOKEN">Unsubscribe</a><a data-nurture-track="off" href="https://keep.example">k</a><a href="https://x.example">x</a>';
    expect(addTracking(html, { click, keep: new Set(['https://n.test/u/TOKEN']) })).toBe(
      `<a href="https://n.test/u/TOKEN">Unsubscribe</a><a data-nurture-track="off" href="https://keep.example">k</a><a href="https://n.test/c/0?${encodeURIComponent('https://x.example')}">x</a>`,
    );
  });

  it('puts the open pixel before </body>, or at the end without one', () => {
    expect(addTracking('<html><body><p>x</p></body></html>', { openPixel: 'https://n.test/o/T.gif' })).toBe(
      '<html><body><p>x</p><img src="https://n.test/o/T.gif" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0" /></body></html>',
    );
    expect(addTracking('<p>x</p>', { openPixel: 'https://n.test/o/T.gif' })).toMatch(/^<p>x<\/p><img src="https:\/\/n\.test\/o\/T\.gif"/);
  });

  it('changes nothing with nothing to add', () => {
    fc.assert(fc.property(fc.string(), (html) => addTracking(html, {}) === html));
  });
});

describe('standard links, signed as they are read', () => {
  /** A signer that counts its signatures. */
  class CountingSigner extends TokenSigner {
    signed: string[] = [];
    override sign(...a: Parameters<TokenSigner['sign']>): string {
      this.signed.push(a[0]);
      return super.sign(...a);
    }
  }
  const subject = { touchId: TOUCH, contactId: '6f1e0c8a-0000-4000-8000-000000000002' };

  it('signs each link once, on first read, and the same as all three at once', () => {
    const signer = new CountingSigner(TEST_LINK_CONFIG.secrets);
    const counted = new MessageLinks(TEST_LINK_CONFIG, signer);
    const lazy = counted.lazy(subject);
    expect(signer.signed).toEqual([]);
    expect(lazy.made()).toEqual([]);
    const unsubscribe = lazy.links.unsubscribe;
    expect(lazy.links.unsubscribe).toBe(unsubscribe);
    expect(signer.signed).toEqual(['unsubscribe']);
    expect(lazy.made()).toEqual([unsubscribe]);
    expect({ ...lazy.links }).toEqual(links.standard(subject));
    expect(signer.signed).toEqual(['unsubscribe', 'preferences', 'view']);
  });
});

describe('click and open tokens', () => {
  it('sign the target: what comes back is exactly what was signed', () => {
    fc.assert(
      fc.property(fc.webUrl(), fc.nat(50), (url, index) => {
        const signed = clickUrl(links, { touchId: TOUCH, index, url });
        const token = signed!.slice('http://nurture.test/c/'.length);
        expect(clickOf(links, token)).toEqual({ touchId: TOUCH, index, url });
      }),
      // fc.webUrl is slow to generate; a few dozen cover its shapes (paths, queries, fragments).
      { numRuns: 25 },
    );
  });

  it('refuse a token with any character changed, and a token of another purpose', () => {
    const token = clickUrl(links, { touchId: TOUCH, index: 0, url: 'https://a.example/x' })!.split('/c/')[1]!;
    fc.assert(
      fc.property(fc.nat(token.length - 1), fc.constantFrom(...'ABCabc012-_.'), (at, ch) => {
        fc.pre(token[at] !== ch);
        expect(clickOf(links, token.slice(0, at) + ch + token.slice(at + 1))).toBeUndefined();
      }),
    );
    const open = openPixelUrl(links, TOUCH).split('/o/')[1]!;
    expect(openOf(links, open)).toEqual({ touchId: TOUCH });
    expect(clickOf(links, open.replace(/\.gif$/, ''))).toBeUndefined();
    expect(openOf(links, `${token}.gif`)).toBeUndefined();
  });

  it('leave very long targets untracked', () => {
    expect(clickUrl(links, { touchId: TOUCH, index: 0, url: `https://a.example/${'x'.repeat(3000)}` })).toBeUndefined();
  });
});

describe('link scanners', () => {
  const T = DateTime.fromISO('2026-12-02T10:00:00Z');
  const ms = fc.integer({ min: 0, max: 10 * SCANNER_WINDOW_MS });

  it('flags a hit within a second of delivery or of the previous hit on the message, and nothing else', () => {
    fc.assert(
      fc.property(ms, fc.option(ms, { nil: undefined }), (sinceSent, sincePrevious) => {
        const now = T.plus({ milliseconds: sinceSent });
        const previousHitAt = sincePrevious === undefined ? undefined : now.minus({ milliseconds: sincePrevious });
        const reason = scannerReason({ sentAt: T, previousHitAt, now });
        if (sinceSent < SCANNER_WINDOW_MS) expect(reason).toBe('after_delivery');
        else if (sincePrevious !== undefined && sincePrevious < SCANNER_WINDOW_MS) expect(reason).toBe('burst');
        else expect(reason).toBeUndefined();
      }),
    );
  });

  const flagged = { url: 'https://a.example', touchId: TOUCH, suspectedScanner: true };
  const person = { url: 'https://a.example', touchId: TOUCH };

  it('are not engagement: wait_for, goals and triggers do not match them', () => {
    const m = { event: 'email_clicked' };
    expect(countsAsEngagement(flagged)).toBe(false);
    expect(matchesEvent(m, { type: 'email_clicked', data: flagged })).toBe(false);
    expect(matchesEvent(m, { type: 'email_clicked', data: person })).toBe(true);
  });

  it('are not engagement: opened/clicked/event conditions do not count them', () => {
    const contact = { tags: [], attributes: {}, score: 0 } as unknown as Contact;
    const entry = (data: Record<string, unknown>): HistoryEntry => ({ type: 'email_clicked', at: T.toISO()!, data, enrollmentId: 'e1', stepId: 'welcome' });
    const scope = (history: HistoryEntry[]) => ({ contact, history, enrollmentId: 'e1', now: T, time: { zone: 'UTC', holidays: new Set<string>() } as never });
    for (const c of [{ clicked: 'welcome' }, { opened: 'welcome' }, { event: 'email_clicked' }] as const) {
      expect(evaluate(c, scope([entry(flagged)])), JSON.stringify(c)).toBe(false);
      expect(evaluate(c, scope([entry(flagged), entry(person)])), JSON.stringify(c)).toBe(true);
    }
  });

  it('earn no score', () => {
    const rules = { ...NO_SCORING, engagement: [{ label: 'click', event: 'email_clicked', where: {}, points: 5, perDay: undefined, max: undefined, group: undefined, halfLifeMs: null }] };
    const who = { email: 'a@example.com', firstName: null, lastName: null, phone: null, timezone: null, address: null, attributes: {}, tags: [] };
    const at = T.toMillis();
    expect(computeScore(rules, who, [{ id: 'a', type: 'email_clicked', at, data: flagged }], at).engagement).toBe(0);
    expect(computeScore(rules, who, [{ id: 'a', type: 'email_clicked', at, data: flagged }, { id: 'b', type: 'email_clicked', at, data: person }], at).engagement).toBe(5);
  });

  it('do not promote a contact, even when clicks are a lead signal', () => {
    const rules = { onEvents: ['email_clicked'], callOutcomes: [] };
    const contact = { status: 'subscriber' as const, unsubscribedAt: null, bouncedAt: null };
    const at = T.toISO()!;
    expect(decideLifecycle(contact, { id: 'a', type: 'email_clicked', occurredAt: at, data: flagged }, rules, T).contact.status).toBe('subscriber');
    expect(decideLifecycle(contact, { id: 'b', type: 'email_clicked', occurredAt: at, data: person }, rules, T).contact.status).toBe('lead');
  });
});
