import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhook } from '../../src/security/standard-webhooks.js';

// The example of the Standard Webhooks specification's reference implementations.
const SPEC_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const SPEC_ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const SPEC_TS = 1614265330;
const SPEC_BODY = '{"test": 2432232314}';
const SPEC_SIG = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';

describe('Standard Webhooks signatures', () => {
  it("match the specification's example", () => {
    expect(signWebhook(SPEC_SECRET, SPEC_ID, SPEC_TS, SPEC_BODY)).toBe(SPEC_SIG);
    const headers = { 'webhook-id': SPEC_ID, 'webhook-timestamp': String(SPEC_TS), 'webhook-signature': `v1,bogus ${SPEC_SIG}` };
    expect(verifyWebhook({ secrets: [SPEC_SECRET], headers, body: SPEC_BODY, nowSeconds: SPEC_TS + 10 })).toEqual({ ok: true, id: SPEC_ID, timestamp: SPEC_TS });
  });

  it('refuse an altered body, another secret, missing headers and an old timestamp, saying why', () => {
    const headers = { 'webhook-id': SPEC_ID, 'webhook-timestamp': String(SPEC_TS), 'webhook-signature': SPEC_SIG };
    const v = (o: Partial<Parameters<typeof verifyWebhook>[0]>) => verifyWebhook({ secrets: [SPEC_SECRET], headers, body: SPEC_BODY, nowSeconds: SPEC_TS, ...o });
    expect(v({ body: '{"test": 2432232315}' })).toMatchObject({ ok: false, reason: expect.stringContaining('does not match') });
    expect(v({ secrets: ['whsec_' + Buffer.from('other').toString('base64')] })).toMatchObject({ ok: false });
    expect(v({ headers: { 'webhook-id': SPEC_ID } })).toMatchObject({ ok: false, reason: expect.stringContaining('headers are required') });
    expect(v({ nowSeconds: SPEC_TS + 301 })).toMatchObject({ ok: false, reason: expect.stringContaining('possible replay') });
    expect(v({ nowSeconds: SPEC_TS - 301 })).toMatchObject({ ok: false });
    expect(v({ nowSeconds: SPEC_TS + 300 })).toMatchObject({ ok: true });
  });
});
