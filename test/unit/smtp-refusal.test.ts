import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideNotice, noticeEvent, noticeEventId } from '../../src/sequences/bounce.js';
import { enhancedStatusOf, refusalOf } from '../../src/templates/smtp-refusal.js';

describe('what a permanent SMTP refusal says about the address', () => {
  const rcpt = (responseCode: number, response: string) => refusalOf({ responseCode, response, command: 'RCPT TO' });

  it('refuses the recipient on 5.1.x and 5.2.1, whatever the basic code', () => {
    expect(rcpt(550, '550 5.1.1 <ann@example.com>: Recipient address rejected: User unknown')).toBe('recipient');
    expect(rcpt(550, '550-5.1.1 The email account that you tried to reach does not exist.')).toBe('recipient');
    expect(rcpt(554, '554 5.1.2 bad destination system')).toBe('recipient');
    expect(rcpt(550, '550 5.1.10 Recipient address has null MX')).toBe('recipient');
    expect(rcpt(550, '550 5.2.1 mailbox disabled')).toBe('recipient');
    expect(refusalOf({ responseCode: 550, response: '550 5.1.1 user unknown', command: 'DATA' })).toBe('recipient');
  });

  it('refuses only the message on mailbox full, size, content and policy', () => {
    expect(rcpt(552, '552 5.2.2 mailbox full')).toBe('message');
    expect(rcpt(552, '552 5.3.4 message too big')).toBe('message');
    expect(rcpt(550, '550 5.7.1 Service unavailable; client host blocked using Spamhaus')).toBe('message');
    expect(refusalOf({ responseCode: 554, response: '554 5.7.1 message content rejected', command: 'DATA' })).toBe('message');
  });

  it('without an enhanced code, reads 550, 551 and 553 at RCPT TO as the recipient, 552 and 554 and other stages as the message', () => {
    expect(rcpt(550, '550 mailbox unavailable')).toBe('recipient');
    expect(rcpt(551, '551 user not local')).toBe('recipient');
    expect(rcpt(553, '553 mailbox name not allowed')).toBe('recipient');
    expect(rcpt(552, '552 storage exceeded')).toBe('message');
    expect(rcpt(554, '554 transaction failed')).toBe('message');
    expect(refusalOf({ responseCode: 550, response: '550 content rejected', command: 'DATA' })).toBe('message');
    expect(refusalOf({ responseCode: 550, response: '550 sender rejected', command: 'MAIL FROM' })).toBe('message');
  });

  it('never calls anything below 500 a refusal, whatever its text says', () => {
    fc.assert(
      fc.property(fc.integer({ min: 200, max: 499 }), fc.string(), fc.constantFrom('RCPT TO', 'DATA', undefined), (code, text, command) => {
        expect(refusalOf({ responseCode: code, response: `${code} 5.1.1 ${text}`, command })).toBe('none');
      }),
    );
    expect(refusalOf({ responseCode: undefined, response: undefined, command: undefined })).toBe('none');
  });

  it('reads the enhanced status code only at the start of the reply', () => {
    expect(enhancedStatusOf('550 5.1.1 user unknown')).toEqual({ klass: 5, subject: 1, detail: 1 });
    expect(enhancedStatusOf('550 user unknown (see 5.1.1)')).toBeUndefined();
  });
});

describe('what a delivery notice does', () => {
  it('suppresses hard bounces and complaints, never soft bounces', () => {
    expect(decideNotice({ kind: 'bounce', bounceType: 'hard' })).toEqual({ suppression: 'hard_bounce', eventType: 'bounced' });
    expect(decideNotice({ kind: 'bounce', bounceType: 'soft' })).toEqual({ suppression: null, eventType: 'soft_bounced' });
    expect(decideNotice({ kind: 'complaint', bounceType: 'hard' })).toEqual({ suppression: 'complaint', eventType: 'unsubscribed' });
    expect(decideNotice({ kind: 'complaint', bounceType: 'soft' })).toEqual({ suppression: 'complaint', eventType: 'unsubscribed' });
  });

  it('gives a redelivered notice the same event id, always a valid one', () => {
    fc.assert(
      fc.property(fc.constantFrom('bounce', 'complaint' as const), fc.string({ minLength: 1, maxLength: 400 }), (kind, noticeId) => {
        const id = noticeEventId({ kind, source: 'webhook', noticeId });
        expect(id).toBe(noticeEventId({ kind, source: 'webhook', noticeId }));
        expect(id.length).toBeLessThanOrEqual(200);
      }),
    );
    const e = noticeEvent({ kind: 'bounce', bounceType: 'hard', source: 'smtp', noticeId: 't1', reason: '550 5.1.1', occurredAt: '2026-12-02T10:00:00.000Z', messageRef: 'touch-t1@x.test' }, 'a@x.test');
    expect(e).toEqual({
      id: 'bounce-smtp-t1',
      type: 'bounced',
      occurredAt: '2026-12-02T10:00:00.000Z',
      contact: { email: 'a@x.test' },
      data: { notice: 'bounce', bounceType: 'hard', source: 'smtp', reason: '550 5.1.1', messageId: 'touch-t1@x.test' },
    });
  });
});
