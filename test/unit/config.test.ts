import { afterEach, describe, expect, it, vi } from 'vitest';
import { config as cliConfig } from '../../src/cli/shared.js';
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
      concurrency: { events: 400, wakes: 800, sends: 400 },
      eventBatch: 200,
      wakeBatch: 100,
      sendBatch: 50,
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

  it('reads how long a migration waits for a lock (NURTURE_MIGRATION_LOCK_TIMEOUT_MS), 5 s by default, 0 for no limit', () => {
    expect(loadConfig({}).migrationLockTimeoutMs).toBe(5_000);
    expect(loadConfig({ NURTURE_MIGRATION_LOCK_TIMEOUT_MS: '0' }).migrationLockTimeoutMs).toBe(0);
    expect(loadConfig({ NURTURE_MIGRATION_LOCK_TIMEOUT_MS: '1500' }).migrationLockTimeoutMs).toBe(1_500);
    expect(() => loadConfig({ NURTURE_MIGRATION_LOCK_TIMEOUT_MS: '-1' })).toThrow('NURTURE_MIGRATION_LOCK_TIMEOUT_MS: is not a whole number (got "-1")');
    // PostgreSQL refuses a lock_timeout above 2^31 - 1 ms: said at start, not in the middle of a migration.
    expect(() => loadConfig({ NURTURE_MIGRATION_LOCK_TIMEOUT_MS: '2147483648' })).toThrow('NURTURE_MIGRATION_LOCK_TIMEOUT_MS: must be at most 2147483647 (got "2147483648")');
  });

  it('refuses a batch size a job could not carry (at most 1,000 wake-ups or emails)', () => {
    expect(loadConfig({ NURTURE_WAKE_BATCH: '1000', NURTURE_SEND_BATCH: '1000' })).toMatchObject({ wakeBatch: 1000, sendBatch: 1000 });
    expect(() => loadConfig({ NURTURE_WAKE_BATCH: '2000' })).toThrow('NURTURE_WAKE_BATCH: must be at most 1000 (got "2000")');
    expect(() => loadConfig({ NURTURE_SEND_BATCH: '1001' })).toThrow('NURTURE_SEND_BATCH: must be at most 1000 (got "1001")');
  });

  it('serves HTTP on 8080 with links to 127.0.0.1 by default, and reads the public URL and secrets', () => {
    expect(loadConfig({}).http).toMatchObject({ host: '127.0.0.1', port: 8080, publicUrl: 'http://127.0.0.1:8080', publicUrlGiven: false });
    const c = loadConfig({ NURTURE_HTTP_PORT: '9000', NURTURE_PUBLIC_URL: 'https://go.example.com/', NURTURE_SECRET: `${'n'.repeat(32)}, ${'o'.repeat(32)}` });
    expect(c.http).toMatchObject({ port: 9000, publicUrl: 'https://go.example.com', publicUrlGiven: true });
    expect(c.secrets).toEqual(['n'.repeat(32), 'o'.repeat(32)]);
    expect(loadConfig({ NURTURE_HTTP_PORT: '9000' }).http.publicUrl).toBe('http://127.0.0.1:9000');
  });

  it('refuses a short secret without echoing it, and a public URL that is not http(s)', () => {
    let message = '';
    try {
      loadConfig({ NURTURE_SECRET: 'hunter2', NURTURE_PUBLIC_URL: 'ftp://x', NURTURE_HTTP_PORT: '70000' });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('NURTURE_SECRET: each secret must be at least 32 characters');
    expect(message).not.toContain('hunter2');
    expect(message).toContain('NURTURE_PUBLIC_URL: is not a URL like https://nurture.example.com (got "ftp://x")');
    expect(message).toContain('NURTURE_HTTP_PORT: must be at most 65535 (got "70000")');
  });

  it('reads DATABASE_DIRECT_URL (migrations past a pooler) beside DATABASE_URL, never alone, never echoed', () => {
    expect(loadConfig({}).databaseDirectUrl).toBeUndefined();
    const c = loadConfig({ DATABASE_URL: 'postgres://app:pw@pgbouncer:6432/nurture', DATABASE_DIRECT_URL: 'postgres://app:pw@db:5432/nurture' });
    expect(c).toMatchObject({ databaseUrl: 'postgres://app:pw@pgbouncer:6432/nurture', databaseDirectUrl: 'postgres://app:pw@db:5432/nurture' });
    expect(configError({ DATABASE_DIRECT_URL: 'postgres://db:5432/nurture' })).toContain('DATABASE_DIRECT_URL is set without DATABASE_URL');
    const bad = configError({ DATABASE_URL: 'postgres://db:5432/nurture', DATABASE_DIRECT_URL: 'mysql://root:s3cret@db/nurture' });
    expect(bad).toContain('DATABASE_DIRECT_URL: is not a URL like postgres://');
    expect(bad).not.toContain('s3cret');
    expect(configError({ DATABASE_URL: 'postgres://db:5432/nurture', DATABASE_DIRECT_URL: 'postgres:///nurture' })).toContain('DATABASE_DIRECT_URL: has no host');
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

function configError(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('the sender address (NURTURE_FROM)', () => {
  it.each([
    ['not an address'],
    ['Nurture <>'],
    ['nurture@'],
    ['@example.com'],
    ['a@example.com, b@example.com'],
    ['team: a@example.com;'],
    ['x@example.com Nurture'],
  ])('refuses %j, naming the variable and the value', (from) => {
    const message = configError({ NURTURE_FROM: from });
    expect(message).toContain('NURTURE_FROM:');
    expect(message).toContain(`(got "${from}")`);
  });

  it.each([['Nurture <nurture@localhost>'], ['hello@example.com'], ['"Acme, Inc." <hello@acme.test>']])('accepts %j', (from) => {
    expect(loadConfig({ NURTURE_FROM: from }).from).toBe(from);
  });
});

describe('other values are checked too', () => {
  it('refuses event types that cannot exist and SMTP URLs without a host', () => {
    const message = configError({ NURTURE_PROMOTE_ON: 'info_requested, Demo Booked', SMTP_URL: 'smtp://' });
    expect(message).toContain('NURTURE_PROMOTE_ON: "Demo Booked" is not an event type');
    expect(message).toContain('SMTP_URL: has no host');
  });

  it('reads NURTURE_LOG_FORMAT: json, pretty, or unset for automatic', () => {
    expect(loadConfig({}).logFormat).toBeUndefined();
    expect(loadConfig({ NURTURE_LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
    expect(configError({ NURTURE_LOG_FORMAT: 'yaml' })).toContain('NURTURE_LOG_FORMAT:');
  });
});

describe('unknown NURTURE_ variables', () => {
  it('warns once per unknown name, with the nearest known name', () => {
    const c = loadConfig({ NURTURE_FORM: 'x@example.com', NURTURE_EMAIL_CAP_PER_DAAY: '2', NURTURE_LOGLEVEL: 'debug' });
    expect(c.warnings).toEqual([
      'NURTURE_EMAIL_CAP_PER_DAAY is not a setting Nurture knows: did you mean NURTURE_EMAIL_CAP_PER_DAY?',
      'NURTURE_FORM is not a setting Nurture knows: did you mean NURTURE_FROM?',
      'NURTURE_LOGLEVEL is not a setting Nurture knows: did you mean NURTURE_LOG_LEVEL?',
    ]);
  });

  it('says so without a guess when nothing is close', () => {
    expect(loadConfig({ NURTURE_COMPLETELY_DIFFERENT_THING: '1' }).warnings).toEqual([
      'NURTURE_COMPLETELY_DIFFERENT_THING is not a setting Nurture knows (see Configuration in the README)',
    ]);
  });

  it('knows every setting of the schema, leaves other variables alone and ignores NURTURE_TEST_*', () => {
    expect(loadConfig({ NURTURE_FROM: 'a@example.com', NURTURE_LOG_FORMAT: 'json', PATH: '/bin', NURTURE_TEST_LOG: 'info' }).warnings).toEqual([]);
  });
});

describe("the CLI's config()", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('prints each warning to stderr once per process, and nothing to stdout', () => {
    vi.stubEnv('NURTURE_FORM', 'x@example.com');
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    cliConfig();
    cliConfig();
    const written = err.mock.calls.map((c) => String(c[0])).filter((s) => s.includes('NURTURE_FORM'));
    expect(written).toEqual(['nurture: NURTURE_FORM is not a setting Nurture knows: did you mean NURTURE_FROM?\n']);
    expect(out).not.toHaveBeenCalled();
  });
});

describe('REDIS_CLUSTER_NODES', () => {
  it('is unset by default, and then the queue prefix is used as given', () => {
    expect(loadConfig({}).redisCluster).toBeUndefined();
    expect(loadConfig({ NURTURE_QUEUE_PREFIX: 'acme' }).queuePrefix).toBe('acme');
  });

  it('reads host:port items (IPv6 in brackets) and puts the prefix in a hash tag', () => {
    const c = loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-b.internal:7001,[::1]:7002', NURTURE_QUEUE_PREFIX: 'acme' });
    expect(c.redisCluster).toEqual({
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: 'redis-b.internal', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      username: undefined,
      password: undefined,
      tls: false,
    });
    expect(c.queuePrefix).toBe('{acme}');
  });

  it('keeps a prefix already given as a hash tag, with or without a cluster (Dragonfly through REDIS_URL)', () => {
    expect(loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000', NURTURE_QUEUE_PREFIX: '{acme}' }).queuePrefix).toBe('{acme}');
    expect(loadConfig({ NURTURE_QUEUE_PREFIX: '{acme}' }).queuePrefix).toBe('{acme}');
    expect(() => loadConfig({ NURTURE_QUEUE_PREFIX: '{ac}me' })).toThrow('NURTURE_QUEUE_PREFIX: letters, digits');
  });

  it('takes the password and TLS from URL items, shared by every node', () => {
    const c = loadConfig({ REDIS_CLUSTER_NODES: 'rediss://app:s%40cret@10.0.0.1:7000,rediss://app:s%40cret@10.0.0.2:7000' });
    expect(c.redisCluster).toMatchObject({ username: 'app', password: 's@cret', tls: true, nodes: [{ host: '10.0.0.1' }, { host: '10.0.0.2' }] });
  });

  it('refuses an item without a port, another scheme or a path, naming the item', () => {
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000,10.0.0.2' })).toThrow('REDIS_CLUSTER_NODES: "10.0.0.2" is not a cluster node: write it as host:port');
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: 'http://10.0.0.1:7000' })).toThrow('REDIS_CLUSTER_NODES: item 1 is not a cluster node');
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000/2' })).toThrow('is not a cluster node');
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: ' , ' })).toThrow('REDIS_CLUSTER_NODES: names no node');
  });

  it('never echoes the value, which may hold a password', () => {
    let message = '';
    try {
      loadConfig({ REDIS_CLUSTER_NODES: 'redis://:hunter2hunter2@10.0.0.1:7000,redis://:other@10.0.0.2:7000' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('disagree on the user, password or TLS');
    expect(message).not.toContain('hunter2');
  });

  it('refuses REDIS_URL beside it', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_CLUSTER_NODES: '127.0.0.1:7000' })).toThrow(ConfigError);
    expect(() => loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_CLUSTER_NODES: '127.0.0.1:7000' })).toThrow('not both');
  });
});
