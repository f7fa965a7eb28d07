import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

/** The delivery settings: SMTP pool, webhook secrets, Postmark's credentials. */
describe('delivery settings', () => {
  const message = (env: Record<string, string>): string => {
    try {
      loadConfig(env);
    } catch (e) {
      return (e as Error).message;
    }
    return '';
  };

  it('pools 5 SMTP connections with no rate limit by default, and reads both', () => {
    expect(loadConfig({}).smtp).toMatchObject({ maxConnections: 5, ratePerSecond: undefined });
    expect(loadConfig({ NURTURE_SMTP_MAX_CONNECTIONS: '2', NURTURE_SMTP_RATE_PER_SECOND: '14' }).smtp).toMatchObject({ maxConnections: 2, ratePerSecond: 14 });
    expect(message({ NURTURE_SMTP_MAX_CONNECTIONS: '0' })).toContain('NURTURE_SMTP_MAX_CONNECTIONS: must be at least 1 (got "0")');
    expect(message({ NURTURE_SMTP_RATE_PER_SECOND: 'fast' })).toContain('NURTURE_SMTP_RATE_PER_SECOND: is not a whole number (got "fast")');
  });

  it('keeps 400 emails in flight by default, or with a rate limit what the pool sends in 10 s; a set value stands', () => {
    expect(loadConfig({}).concurrency.sends).toBe(400);
    expect(loadConfig({ NURTURE_SMTP_RATE_PER_SECOND: '14' }).concurrency.sends).toBe(140);
    expect(loadConfig({ NURTURE_SMTP_RATE_PER_SECOND: '1' }).concurrency.sends).toBe(10);
    expect(loadConfig({ NURTURE_SMTP_RATE_PER_SECOND: '500' }).concurrency.sends).toBe(400);
    expect(loadConfig({ NURTURE_SMTP_RATE_PER_SECOND: '14', NURTURE_SEND_CONCURRENCY: '1000' }).concurrency.sends).toBe(1000);
    expect(message({ NURTURE_SEND_CONCURRENCY: '0' })).toContain('NURTURE_SEND_CONCURRENCY: must be at least 1 (got "0")');
  });

  it('sends from two SMTP threads by default; 0 keeps the work on the engine\'s thread, more than 16 is refused', () => {
    expect(loadConfig({}).smtp.threads).toBe(2);
    expect(loadConfig({ NURTURE_SMTP_THREADS: '0' }).smtp.threads).toBe(0);
    expect(loadConfig({ NURTURE_SMTP_THREADS: '4' }).smtp.threads).toBe(4);
    expect(message({ NURTURE_SMTP_THREADS: '17' })).toContain('NURTURE_SMTP_THREADS: must be at most 16 (got "17")');
    expect(message({ NURTURE_SMTP_THREADS: 'two' })).toContain('NURTURE_SMTP_THREADS: is not a whole number (got "two")');
  });

  it('reads webhook secrets, whsec_ or plain, newest first; none by default', () => {
    expect(loadConfig({}).webhookSecrets).toEqual([]);
    const whsec = `whsec_${Buffer.alloc(24, 1).toString('base64')}`;
    expect(loadConfig({ NURTURE_WEBHOOK_SECRETS: `${whsec}, ${'p'.repeat(32)}` }).webhookSecrets).toEqual([whsec, 'p'.repeat(32)]);
  });

  it('refuses weak webhook secrets and malformed Postmark credentials without echoing them', () => {
    const weak = message({ NURTURE_WEBHOOK_SECRETS: 'whsec_c2hvcnQ=', NURTURE_POSTMARK_WEBHOOK_AUTH: 'postmark-hunter2' });
    expect(weak).toContain('NURTURE_WEBHOOK_SECRETS: each secret must hold at least 24 bytes');
    expect(weak).toContain('NURTURE_POSTMARK_WEBHOOK_AUTH: must be user:password, the password 12 characters or more');
    expect(weak).not.toContain('c2hvcnQ');
    expect(weak).not.toContain('hunter2');
    expect(message({ NURTURE_WEBHOOK_SECRETS: 'short' })).toContain('each secret must hold at least 24 bytes');
  });

  it('splits Postmark credentials at the first colon: the password may hold more', () => {
    expect(loadConfig({ NURTURE_POSTMARK_WEBHOOK_AUTH: 'pm:secret:with:colons' }).postmarkWebhookAuth).toEqual({ user: 'pm', password: 'secret:with:colons' });
    expect(loadConfig({}).postmarkWebhookAuth).toBeUndefined();
  });
});
