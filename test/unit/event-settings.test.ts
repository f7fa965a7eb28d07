import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

/** The settings of POST /v1/events: webhook secrets (rotation, never echoed) and the rate limit. */
describe('POST /v1/events settings', () => {
  const secret = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;

  it('takes several webhook secrets, by comma or space, for a rotation', () => {
    const other = `whsec_${Buffer.from('fedcba9876543210fedcba9876543210').toString('base64')}`;
    expect(loadConfig({ NURTURE_WEBHOOK_SECRETS: `${secret}, plain-text-secret-of-24-bytes ${other}` }).webhookSecrets).toEqual([secret, 'plain-text-secret-of-24-bytes', other]);
    expect(loadConfig({}).webhookSecrets).toEqual([]);
  });

  it('refuses a short secret without echoing it', () => {
    let err: unknown;
    try {
      loadConfig({ NURTURE_WEBHOOK_SECRETS: 'whsec_c2hvcnQ=' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('NURTURE_WEBHOOK_SECRETS: each secret must hold at least 24 bytes');
    expect((err as Error).message).not.toContain('c2hvcnQ');
  });

  it('has a rate limit of 600 requests a minute per credential unless set', () => {
    expect(loadConfig({}).eventsRateLimit).toBe(600);
    expect(loadConfig({ NURTURE_EVENTS_RATE_LIMIT: '20' }).eventsRateLimit).toBe(20);
    expect(() => loadConfig({ NURTURE_EVENTS_RATE_LIMIT: 'lots' })).toThrow(/NURTURE_EVENTS_RATE_LIMIT: is not a whole number/);
  });
});
