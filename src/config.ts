import addressparser from 'nodemailer/lib/addressparser';
import { isValidZone } from './sequences/zones.js';
import { z } from 'zod';
import { closest } from './sequences/suggest.js';
import { ConfigError } from './errors.js';
import type { PromotionRules } from './sequences/lifecycle.js';
import { parseDuration } from './sequences/duration.js';
import type { DurationSpec, FrequencyCap } from './sequences/time-types.js';
import { EVENT_TYPE, EVENT_TYPE_HINT } from './sequences/names.js';
import { parseRetention } from './app/partition-plan.js';

/** Environment, parsed once at start with zod; every setting is documented in the README. */

const list = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));
const wholeNumber = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(/^\s*\d+\s*$/, 'is not a whole number')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
// zod 4: a default is an output value, used as is when the variable is unset.
const int = (fallback: number, min = 1, max?: number) => wholeNumber(min, max).default(fallback);
/** Most wake-ups or emails one queued job carries (NURTURE_WAKE_BATCH, NURTURE_SEND_BATCH): a job's data is read whole. */
export const MAX_ITEMS_PER_JOB = 1_000;

/**
 * Emails in flight per process when NURTURE_SEND_CONCURRENCY is unset: 400, which lets a burst's
 * sends share the engine's thread with its wake-ups (README, Bursts), or with a rate limit what
 * the pool sends in 10 s (at least 10): more would only wait in the pool, each of them already
 * claimed, and make a SIGTERM wait for them too.
 */
function defaultSendConcurrency(ratePerSecond: number | undefined): number {
  return ratePerSecond === undefined ? 400 : Math.min(400, Math.max(10, ratePerSecond * 10));
}
const optionalInt = wholeNumber(1).optional();
const durationText = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((s, ctx): DurationSpec => {
      const r = parseDuration(s);
      if (!r.ok) {
        ctx.addIssue({ code: 'custom', message: r.error });
        return z.NEVER;
      }
      return r.value;
    });
const url = (protocols: RegExp, example: string) =>
  z
    .string()
    .trim()
    .superRefine((s, ctx) => {
      let parsed: URL;
      try {
        parsed = new URL(s);
      } catch {
        ctx.addIssue({ code: 'custom', message: `is not a URL like ${example}` });
        return;
      }
      if (!protocols.test(parsed.protocol)) ctx.addIssue({ code: 'custom', message: `is not a URL like ${example}` });
      else if (!parsed.hostname) ctx.addIssue({ code: 'custom', message: `has no host: write it like ${example}` });
    });
const eventTypes = (fallback: string) =>
  list(fallback).superRefine((types, ctx) => {
    for (const t of types) {
      if (!EVENT_TYPE.test(t)) ctx.addIssue({ code: 'custom', message: `"${t}" is not an event type (${EVENT_TYPE_HINT})` });
    }
  });

/** A retention: "forever" (undefined) or a whole number of months or years, as months. */
const retention = () =>
  z
    .string()
    .default('forever')
    .transform((s, ctx): number | undefined => {
      const r = parseRetention(s);
      if (!r.ok) {
        ctx.addIssue({ code: 'custom', message: r.error });
        return z.NEVER;
      }
      return r.months;
    });

/**
 * One mailbox, parsed by nodemailer's own address parser: what passes here is exactly what
 * nodemailer will put in the From header, so "not an address" cannot become mail without one.
 */
const mailbox = z.string().superRefine((s, ctx) => {
  const problem = mailboxProblem(s);
  if (problem) ctx.addIssue({ code: 'custom', message: `${problem}: write it as "Name <name@example.com>" or "name@example.com"` });
});

function mailboxProblem(s: string): string | undefined {
  const parsed = addressparser(s);
  if (parsed.length !== 1) return parsed.length === 0 ? 'is empty' : 'must be one address, not a list';
  const [one] = parsed;
  if (!one || one.group !== undefined) return 'is an address group, not one address';
  const address = one.address;
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1 || /\s/.test(address)) return 'is not an email address';
  // A name outside angle brackets is text the parser kept as a name: a typo, not a display name.
  if (one.name && !s.includes('<')) return 'has text beside the address: put the address in <>';
  return undefined;
}

const envSchema = z.object({
  DATABASE_URL: url(/^postgres(ql)?:$/, 'postgres://user@127.0.0.1:5432/nurture').optional(),
  /** PostgreSQL itself (or a session-mode pool) for what needs one session: migrations. Unset: DATABASE_URL. */
  DATABASE_DIRECT_URL: url(/^postgres(ql)?:$/, 'postgres://user@127.0.0.1:5432/nurture').optional(),
  REDIS_URL: url(/^rediss?:$/, 'redis://127.0.0.1:6379').optional(),
  /** A Redis Cluster instead of one Redis: its nodes (some or all; the rest are discovered). */
  REDIS_CLUSTER_NODES: z.string().transform((s, ctx) => parseClusterNodes(s, ctx)).optional(),
  SMTP_URL: url(/^smtps?:$/, 'smtp://127.0.0.1:1025').optional(),
  NURTURE_FROM: mailbox.default('Nurture <nurture@localhost>'),
  NURTURE_DATA_DIR: z.string().default('./.nurture'),
  NURTURE_QUEUE_PREFIX: z.string().regex(/^(\{[A-Za-z0-9_-]+\}|[A-Za-z0-9_-]+)$/, 'letters, digits, "-" and "_" only, or all of it in {} (a hash tag)').default('nurture'),
  NURTURE_DEFAULT_TIMEZONE: z
    .string()
    .default('UTC')
    .refine((s) => isValidZone(s), 'is not an IANA time zone (e.g. "America/Chicago")'),
  NURTURE_EMAIL_CAP_PER_DAY: optionalInt,
  NURTURE_EMAIL_CAP_PER_WEEK: optionalInt,
  NURTURE_PROMOTE_ON: eventTypes('appointment_requested,info_requested'),
  NURTURE_PROMOTE_CALL_OUTCOMES: list('appointment_booked'),
  NURTURE_LEAD_CALL_DUE: durationText('1 hour'),
  NURTURE_MAX_FUTURE_SKEW: durationText('5 minutes'),
  NURTURE_SWEEP_INTERVAL_MS: int(2_000, 100),
  NURTURE_SCHEDULE_HORIZON_MS: int(120_000, 1_000),
  NURTURE_EVENT_CONCURRENCY: int(400),
  NURTURE_EVENT_BATCH: int(200),
  NURTURE_WAKE_CONCURRENCY: int(800),
  // Unset: defaultSendConcurrency(NURTURE_SMTP_RATE_PER_SECOND).
  NURTURE_SEND_CONCURRENCY: optionalInt,
  /** Most wake-ups run in one transaction. */
  NURTURE_WAKE_BATCH: int(100, 1, MAX_ITEMS_PER_JOB),
  /** Most emails claimed (marked sending) in one transaction. */
  NURTURE_SEND_BATCH: int(50, 1, MAX_ITEMS_PER_JOB),
  NURTURE_LOCK_MS: int(30_000, 1_000),
  NURTURE_DB_POOL: int(20),
  /** A migration's longest wait for a lock on each try but the last (0: no limit); see src/db/migrate.ts. At most PostgreSQL's lock_timeout maximum. */
  NURTURE_MIGRATION_LOCK_TIMEOUT_MS: int(5_000, 0, 2_147_483_647),
  NURTURE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Unset: human-readable on a terminal, JSON lines otherwise. */
  NURTURE_LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  NURTURE_HTTP_PORT: wholeNumber(0).pipe(z.number().max(65535, 'must be at most 65535')).default(8080),
  NURTURE_HTTP_HOST: z.string().trim().min(1).default('127.0.0.1'),
  /** A process that serves no HTTP (nurture worker) serves /metrics and /healthz on this port. */
  NURTURE_METRICS_PORT: wholeNumber(0).pipe(z.number().max(65535, 'must be at most 65535')).optional(),
  /** Unset: http://127.0.0.1:<port>. Every link put in mail starts with it. */
  NURTURE_PUBLIC_URL: url(/^https?:$/, 'https://nurture.example.com').transform((s) => s.replace(/\/+$/, '')).optional(),
  NURTURE_HTTP_BODY_LIMIT: int(5 * 1024 * 1024, 1024),
  /** Behind a reverse proxy: trust X-Forwarded-For for the client's address (rate limits, consent records). */
  NURTURE_TRUST_PROXY: z.enum(['true', 'false']).default('false').transform((s) => s === 'true'),
  /** Signing secrets, newest first: the first signs, all verify (rotation). */
  NURTURE_SECRET: z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(z.string().min(32, 'each secret must be at least 32 characters (e.g. `openssl rand -hex 32`)')).min(1, 'names no secret'))
    .optional(),
  /** Bearer keys accepted by POST /v1/events. */
  NURTURE_API_KEYS: z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(z.string().min(16, 'each key must be at least 16 characters')))
    .optional(),
  /** Requests per minute to POST /v1/events, per credential (a bearer key or a webhook secret). */
  NURTURE_EVENTS_RATE_LIMIT: int(600),
  /** Operator pages (dashboard, queues): HTTP Basic, user `admin`. Unset: those pages are off. */
  NURTURE_ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
  /** Links in HTML emails rewritten to signed redirects that record email_clicked (a sequence may turn it off too). */
  NURTURE_TRACK_CLICKS: z.enum(['true', 'false']).default('true').transform((s) => s === 'true'),
  /** A 1x1 pixel in HTML emails that records email_opened. */
  NURTURE_TRACK_OPENS: z.enum(['true', 'false']).default('true').transform((s) => s === 'true'),
  /** The mailto: half of List-Unsubscribe; unset: unsubscribe@ the domain of NURTURE_FROM. */
  NURTURE_UNSUBSCRIBE_MAILTO: z.string().trim().refine((s) => mailboxProblem(s) === undefined && !s.includes('<'), 'is not a bare email address like unsubscribe@example.com').optional(),
  /** DKIM signing: all three or none. */
  NURTURE_DKIM_DOMAIN: z.string().trim().regex(/^[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/, 'is not a domain name like example.com').optional(),
  NURTURE_DKIM_SELECTOR: z.string().trim().regex(/^[A-Za-z0-9._-]+$/, 'is not a DKIM selector (letters, digits, ".", "-", "_")').optional(),
  NURTURE_DKIM_KEY_FILE: z.string().trim().min(1).optional(),
  /** SMTP connections open at once (nodemailer's pool). */
  NURTURE_SMTP_MAX_CONNECTIONS: int(5),
  /** SMTP messages per second across the pool; unset: no limit. */
  NURTURE_SMTP_RATE_PER_SECOND: optionalInt,
  /** Worker threads that compose, sign and send SMTP mail, sharing the connections; 0: in the engine's own thread. */
  NURTURE_SMTP_THREADS: int(2, 0, 16),
  /** Standard Webhooks secrets for signed webhooks (POST /v1/events, /v1/bounces), newest first: all verify. */
  NURTURE_WEBHOOK_SECRETS: z
    .string()
    .transform((s) => s.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(z.string().superRefine((s, ctx) => {
      const problem = webhookSecretProblem(s);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })).min(1, 'names no secret'))
    .optional(),
  /** `user:password` Postmark sends as HTTP Basic credentials (put them in the webhook URL there). */
  NURTURE_POSTMARK_WEBHOOK_AUTH: z
    .string()
    .regex(/^[^:]+:.{12,}$/, 'must be user:password, the password 12 characters or more')
    .transform((s) => ({ user: s.slice(0, s.indexOf(':')), password: s.slice(s.indexOf(':') + 1) }))
    .optional(),
  /** How long a double opt-in's confirmation link stays good (a form's `double_opt_in.expires` overrides it). */
  NURTURE_CONFIRM_EXPIRY: durationText('7 days'),
  /** Form posts accepted per client address per minute (POST /v1/forms/:formId). */
  NURTURE_FORM_RATE_LIMIT: int(10),
  /** How long an inbox login lasts (hours). */
  NURTURE_INBOX_SESSION_HOURS: int(12),
  /** Login attempts to the inbox accepted per client address per minute. */
  NURTURE_INBOX_LOGIN_RATE_LIMIT: int(10),
  /** Monthly partitions of events older than this are dropped ("18 months", "2 years"); default: forever. */
  NURTURE_EVENTS_RETENTION: retention(),
  /** Monthly partitions of touches older than this are dropped, unless they hold unsent email or open tasks; default: forever. */
  NURTURE_TOUCHES_RETENTION: retention(),
});

/** A Standard Webhooks secret: `whsec_` and base64 of 24 bytes or more, or any text of 32 characters or more. */
function webhookSecretProblem(s: string): string | undefined {
  const whsec = s.startsWith('whsec_');
  const b64 = s.slice('whsec_'.length);
  if (whsec && !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return 'a whsec_ secret must be followed by base64';
  const bytes = whsec ? Buffer.from(b64, 'base64').length : Buffer.byteLength(s, 'utf8');
  return bytes >= 24 ? undefined : 'each secret must hold at least 24 bytes (`whsec_` then base64, e.g. `whsec_$(openssl rand -base64 32)`, or plain text)';
}

/** Settings whose values are credentials: never echoed in an error. */
const SECRET_NAMES: readonly string[] = ['NURTURE_SECRET', 'NURTURE_API_KEYS', 'NURTURE_ADMIN_PASSWORD', 'NURTURE_WEBHOOK_SECRETS', 'NURTURE_POSTMARK_WEBHOOK_AUTH', 'REDIS_CLUSTER_NODES'];

/** Every setting, from the schema itself, so a setting added there is known here too. */
const KNOWN_NAMES: readonly string[] = Object.keys(envSchema.shape).filter((k) => k.startsWith('NURTURE_'));
/** Variables of the test suite, not settings of the engine. */
const PREFIX = 'NURTURE_';
const TEST_PREFIX = 'NURTURE_TEST_';

/**
 * One warning per NURTURE_* variable that is no setting: a misspelled name would otherwise be
 * ignored, and its default used, without a word.
 */
export function unknownSettingWarnings(names: Iterable<string>): string[] {
  const unknown = [...names].filter((n) => n.startsWith('NURTURE_') && !n.startsWith(TEST_PREFIX) && !KNOWN_NAMES.includes(n)).sort();
  return unknown.map((name) => {
    // Compared without the common prefix: "a third of the name" is a third of the part people type.
    const guess = closest(name.slice(PREFIX.length), KNOWN_NAMES.map((k) => k.slice(PREFIX.length)));
    return guess ? `${name} is not a setting Nurture knows: did you mean ${PREFIX}${guess}?` : `${name} is not a setting Nurture knows (see Configuration in the README)`;
  });
}

export interface Config {
  databaseUrl: string | undefined;
  /**
   * DATABASE_DIRECT_URL: the same database without a transaction-mode pooler in between, for
   * migrations (a session-level lock); undefined: they go over DATABASE_URL.
   */
  databaseDirectUrl: string | undefined;
  redisUrl: string | undefined;
  /** REDIS_CLUSTER_NODES; set: the queues live on this Redis Cluster (and REDIS_URL is unset). */
  redisCluster: RedisClusterConfig | undefined;
  smtpUrl: string | undefined;
  from: string;
  dataDir: string;
  queuePrefix: string;
  defaultZone: string;
  caps: FrequencyCap | undefined;
  promotion: PromotionRules;
  leadCallDue: DurationSpec;
  /** An event that happened further ahead of the receiver's clock than this is refused. */
  maxFutureSkew: DurationSpec;
  sweepIntervalMs: number;
  horizonMs: number;
  concurrency: { events: number; wakes: number; sends: number };
  eventBatch: number;
  wakeBatch: number;
  sendBatch: number;
  lockMs: number;
  dbPool: number;
  migrationLockTimeoutMs: number;
  logLevel: z.output<typeof envSchema>['NURTURE_LOG_LEVEL'];
  /** undefined: decided by whether the log goes to a terminal. */
  logFormat: 'json' | 'pretty' | undefined;
  http: {
    host: string;
    /** 0: any free port (tests). */
    port: number;
    /** Without a trailing slash. */
    publicUrl: string;
    /** Whether NURTURE_PUBLIC_URL was set (otherwise the server's own address stands in). */
    publicUrlGiven: boolean;
    bodyLimit: number;
    trustProxy: boolean;
    /** Where a process without HTTP serves /metrics (undefined: it does not). */
    metricsPort: number | undefined;
  };
  /** NURTURE_SECRET, newest first; undefined: generated and kept in the data directory (embedded default only). */
  secrets: readonly string[] | undefined;
  apiKeys: readonly string[];
  /** Requests per minute to POST /v1/events, per credential. */
  eventsRateLimit: number;
  adminPassword: string | undefined;
  /** Global switches of click and open tracking (NURTURE_TRACK_CLICKS, NURTURE_TRACK_OPENS). */
  tracking: { clicks: boolean; opens: boolean };
  /** The address of the mailto: link in List-Unsubscribe. */
  unsubscribeMailto: string;
  /** DKIM signing of outgoing mail (SMTP), when configured. */
  dkim: { domain: string; selector: string; keyFile: string } | undefined;
  /** nodemailer's pool: connections at once, messages per second (undefined: no limit). */
  smtp: { maxConnections: number; ratePerSecond: number | undefined; threads: number };
  /** NURTURE_WEBHOOK_SECRETS; empty: signed webhooks are refused (403). */
  webhookSecrets: readonly string[];
  /** NURTURE_POSTMARK_WEBHOOK_AUTH; undefined: the Postmark webhook is off (403). */
  postmarkWebhookAuth: { user: string; password: string } | undefined;
  forms: { confirmExpiry: DurationSpec; ratePerMinute: number };
  /** The task inbox (/inbox): session length, login attempts per client per minute. */
  inbox: { sessionTtlMs: number; loginRatePerMinute: number };
  /** NURTURE_EVENTS_RETENTION in months; undefined: events are kept forever. */
  eventsRetentionMonths: number | undefined;
  /** NURTURE_TOUCHES_RETENTION in months; undefined: touches are kept forever. */
  touchesRetentionMonths: number | undefined;
  /** What the operator should hear about but that does not stop the process (unknown NURTURE_* names). */
  warnings: readonly string[];
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "unset", as in most twelve-factor tools.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      // Each setting is one variable: a list's own item index says nothing to the operator.
      const name = String(i.path[0] ?? '');
      // URLs may hold passwords: never echo them.
      const given = (name.endsWith('_URL') && name !== 'NURTURE_PUBLIC_URL') || SECRET_NAMES.includes(name) ? undefined : cleaned[name];
      return `${name}: ${i.message}${given !== undefined ? ` (got "${given}")` : ''}`;
    });
    throw new ConfigError(`invalid environment:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  const dkimGiven = [e.NURTURE_DKIM_DOMAIN, e.NURTURE_DKIM_SELECTOR, e.NURTURE_DKIM_KEY_FILE].filter((x) => x !== undefined).length;
  if (dkimGiven !== 0 && dkimGiven !== 3) {
    throw new ConfigError('invalid environment:\n  NURTURE_DKIM_DOMAIN, NURTURE_DKIM_SELECTOR and NURTURE_DKIM_KEY_FILE go together: set all three to sign mail, or none');
  }
  if (e.DATABASE_DIRECT_URL !== undefined && e.DATABASE_URL === undefined) {
    throw new ConfigError('invalid environment:\n  DATABASE_DIRECT_URL is set without DATABASE_URL: it is the direct way to the PostgreSQL of DATABASE_URL (for migrations); set DATABASE_URL too, or unset DATABASE_DIRECT_URL to use the embedded store');
  }
  if (e.REDIS_URL !== undefined && e.REDIS_CLUSTER_NODES !== undefined) {
    throw new ConfigError('invalid environment:\n  REDIS_URL and REDIS_CLUSTER_NODES are both set: set REDIS_URL for one Redis, or REDIS_CLUSTER_NODES for a Redis Cluster, not both');
  }
  const caps = e.NURTURE_EMAIL_CAP_PER_DAY || e.NURTURE_EMAIL_CAP_PER_WEEK ? { perDay: e.NURTURE_EMAIL_CAP_PER_DAY, perWeek: e.NURTURE_EMAIL_CAP_PER_WEEK } : undefined;
  return {
    databaseUrl: e.DATABASE_URL,
    databaseDirectUrl: e.DATABASE_DIRECT_URL,
    redisUrl: e.REDIS_URL,
    redisCluster: e.REDIS_CLUSTER_NODES,
    smtpUrl: e.SMTP_URL,
    from: e.NURTURE_FROM,
    dataDir: e.NURTURE_DATA_DIR,
    // BullMQ's scripts touch several keys of a queue at once; on a cluster they must share a hash
    // slot, which a hash tag in the prefix guarantees (BullMQ's Redis Cluster guide). One given in
    // braces is kept as is: Dragonfly reached through REDIS_URL wants it too (--lock_on_hashtags).
    queuePrefix: e.REDIS_CLUSTER_NODES && !e.NURTURE_QUEUE_PREFIX.startsWith('{') ? `{${e.NURTURE_QUEUE_PREFIX}}` : e.NURTURE_QUEUE_PREFIX,
    defaultZone: e.NURTURE_DEFAULT_TIMEZONE,
    caps,
    promotion: { onEvents: e.NURTURE_PROMOTE_ON, callOutcomes: e.NURTURE_PROMOTE_CALL_OUTCOMES },
    leadCallDue: e.NURTURE_LEAD_CALL_DUE,
    maxFutureSkew: e.NURTURE_MAX_FUTURE_SKEW,
    sweepIntervalMs: e.NURTURE_SWEEP_INTERVAL_MS,
    horizonMs: e.NURTURE_SCHEDULE_HORIZON_MS,
    concurrency: { events: e.NURTURE_EVENT_CONCURRENCY, wakes: e.NURTURE_WAKE_CONCURRENCY, sends: e.NURTURE_SEND_CONCURRENCY ?? defaultSendConcurrency(e.NURTURE_SMTP_RATE_PER_SECOND) },
    eventBatch: e.NURTURE_EVENT_BATCH,
    wakeBatch: e.NURTURE_WAKE_BATCH,
    sendBatch: e.NURTURE_SEND_BATCH,
    lockMs: e.NURTURE_LOCK_MS,
    dbPool: e.NURTURE_DB_POOL,
    migrationLockTimeoutMs: e.NURTURE_MIGRATION_LOCK_TIMEOUT_MS,
    logLevel: e.NURTURE_LOG_LEVEL,
    logFormat: e.NURTURE_LOG_FORMAT,
    http: {
      host: e.NURTURE_HTTP_HOST,
      port: e.NURTURE_HTTP_PORT,
      publicUrl: e.NURTURE_PUBLIC_URL ?? `http://127.0.0.1:${e.NURTURE_HTTP_PORT}`,
      publicUrlGiven: e.NURTURE_PUBLIC_URL !== undefined,
      bodyLimit: e.NURTURE_HTTP_BODY_LIMIT,
      trustProxy: e.NURTURE_TRUST_PROXY,
      metricsPort: e.NURTURE_METRICS_PORT,
    },
    secrets: e.NURTURE_SECRET,
    apiKeys: e.NURTURE_API_KEYS ?? [],
    eventsRateLimit: e.NURTURE_EVENTS_RATE_LIMIT,
    adminPassword: e.NURTURE_ADMIN_PASSWORD,
    tracking: { clicks: e.NURTURE_TRACK_CLICKS, opens: e.NURTURE_TRACK_OPENS },
    unsubscribeMailto: e.NURTURE_UNSUBSCRIBE_MAILTO ?? `unsubscribe@${domainOf(e.NURTURE_FROM)}`,
    dkim: dkimGiven === 3 ? { domain: e.NURTURE_DKIM_DOMAIN!, selector: e.NURTURE_DKIM_SELECTOR!, keyFile: e.NURTURE_DKIM_KEY_FILE! } : undefined,
    smtp: { maxConnections: e.NURTURE_SMTP_MAX_CONNECTIONS, ratePerSecond: e.NURTURE_SMTP_RATE_PER_SECOND, threads: e.NURTURE_SMTP_THREADS },
    webhookSecrets: e.NURTURE_WEBHOOK_SECRETS ?? [],
    postmarkWebhookAuth: e.NURTURE_POSTMARK_WEBHOOK_AUTH,
    forms: { confirmExpiry: e.NURTURE_CONFIRM_EXPIRY, ratePerMinute: e.NURTURE_FORM_RATE_LIMIT },
    inbox: { sessionTtlMs: e.NURTURE_INBOX_SESSION_HOURS * 3_600_000, loginRatePerMinute: e.NURTURE_INBOX_LOGIN_RATE_LIMIT },
    eventsRetentionMonths: e.NURTURE_EVENTS_RETENTION,
    touchesRetentionMonths: e.NURTURE_TOUCHES_RETENTION,
    warnings: unknownSettingWarnings(Object.keys(cleaned)),
  };
}

/** The domain of a mailbox that passed `mailbox` (so it has one). */
function domainOf(mailboxText: string): string {
  const address = addressparser(mailboxText)[0]?.address ?? '';
  return address.slice(address.lastIndexOf('@') + 1);
}

export interface RedisClusterConfig {
  nodes: { host: string; port: number }[];
  /** Shared by every node: from the items written as redis:// or rediss:// URLs. */
  username: string | undefined;
  password: string | undefined;
  tls: boolean;
}

const CLUSTER_NODE_EXAMPLE = 'write it as host:port, e.g. 10.0.0.1:7000, or redis://:password@10.0.0.1:7000';

/**
 * REDIS_CLUSTER_NODES: comma-separated `host:port` (IPv6 as `[::1]:7000`), or URLs where the
 * cluster needs a password or TLS. Every node shares those: items that disagree are refused.
 */
function parseClusterNodes(text: string, ctx: z.RefinementCtx): RedisClusterConfig {
  const items = text.split(',').map((x) => x.trim()).filter(Boolean);
  const nodes: RedisClusterConfig['nodes'] = [];
  const auth = new Set<string>();
  let username: string | undefined;
  let password: string | undefined;
  let tls = false;
  if (items.length === 0) ctx.addIssue({ code: 'custom', message: `names no node: ${CLUSTER_NODE_EXAMPLE}` });
  for (const item of items) {
    const isUrl = /^[a-z]+:\/\//i.test(item);
    let parsed: URL | undefined;
    try {
      parsed = new URL(isUrl ? item : `redis://${item}`);
    } catch {
      parsed = undefined;
    }
    // Never echo a URL item: it may hold the password.
    const shown = isUrl ? `item ${nodes.length + 1}` : `"${item}"`;
    const port = parsed?.port ? Number(parsed.port) : NaN;
    if (!parsed || !parsed.hostname || !/^rediss?:$/.test(parsed.protocol) || !Number.isInteger(port) || parsed.pathname.replace(/\/+$/, '') !== '') {
      ctx.addIssue({ code: 'custom', message: `${shown} is not a cluster node: ${CLUSTER_NODE_EXAMPLE}` });
      continue;
    }
    nodes.push({ host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'), port });
    if (isUrl) {
      username = parsed.username ? decodeURIComponent(parsed.username) : undefined;
      password = parsed.password ? decodeURIComponent(parsed.password) : undefined;
      tls = parsed.protocol === 'rediss:';
      auth.add(`${parsed.protocol}${parsed.username}:${parsed.password}`);
    }
  }
  if (auth.size > 1) ctx.addIssue({ code: 'custom', message: 'the URL items disagree on the user, password or TLS: a cluster\'s nodes share them, write them alike' });
  return { nodes, username, password, tls };
}
