import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

describe('configuration from the environment', () => {
  it('has working defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      databaseUrl: undefined,
      redisUrl: undefined,
      smtpUrl: undefined,
      dataDir: './.nurture',
      queuePrefix: 'nurture',
      defaultZone: 'UTC',
      caps: undefined,
      promotion: { onEvents: ['appointment_requested', 'info_requested'], callOutcomes: ['appointment_booked'] },
      concurrency: { events: 400, wakes: 16, sends: 8 },
      eventBatch: 200,
    });
    expect(c.leadCallDue).toMatchObject({ kind: 'calendar', parts: { hours: 1 } });
  });

  it('reads caps, lists and durations', () => {
    const c = loadConfig({ NURTURE_EMAIL_CAP_PER_DAY: '1', NURTURE_EMAIL_CAP_PER_WEEK: '3', NURTURE_PROMOTE_ON: 'demo_booked, info_requested', NURTURE_LEAD_CALL_DUE: '30 minutes' });
    expect(c.caps).toEqual({ perDay: 1, perWeek: 3 });
    expect(c.promotion.onEvents).toEqual(['demo_booked', 'info_requested']);
    expect(c.leadCallDue).toMatchObject({ parts: { minutes: 30 } });
  });

  it('reads how far ahead an event may be (NURTURE_MAX_FUTURE_SKEW), 5 minutes by default', () => {
    expect(loadConfig({}).maxFutureSkew).toMatchObject({ kind: 'calendar', parts: { minutes: 5 } });
    expect(loadConfig({ NURTURE_MAX_FUTURE_SKEW: '1 hour' }).maxFutureSkew).toMatchObject({ parts: { hours: 1 } });
    expect(() => loadConfig({ NURTURE_MAX_FUTURE_SKEW: 'soonish' })).toThrow('NURTURE_MAX_FUTURE_SKEW: "soonish" is not a duration');
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', NURTURE_EVENT_CONCURRENCY: '' }).databaseUrl).toBeUndefined();
  });

  it('names every bad variable, what is wrong and what was given', () => {
    const err = (() => {
      try {
        loadConfig({ NURTURE_EVENT_CONCURRENCY: 'abc', DATABASE_URL: 'mysql://x', NURTURE_DEFAULT_TIMEZONE: 'Mars/Olympus' });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).toContain('NURTURE_EVENT_CONCURRENCY: is not a whole number (got "abc")');
    expect(message).toContain('DATABASE_URL: is not a URL like postgres://');
    expect(message).toContain('NURTURE_DEFAULT_TIMEZONE: is not an IANA time zone');
  });
});
