import { isValidZone } from './sequences/zones.js';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import type { PromotionRules } from './sequences/lifecycle.js';
import { parseDuration } from './sequences/duration.js';
import type { DurationSpec, FrequencyCap } from './sequences/time-types.js';

/** Environment, parsed once at start with zod; every setting is documented in the README. */

const list = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));
const wholeNumber = (min: number) =>
  z
    .string()
    .regex(/^\s*\d+\s*$/, 'is not a whole number')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`));
// zod 4: a default is an output value, used as is when the variable is unset.
const int = (fallback: number, min = 1) => wholeNumber(min).default(fallback);
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
    .refine((s) => {
      try {
        return protocols.test(new URL(s).protocol);
      } catch {
        return false;
      }
    }, `is not a URL like ${example}`);

const envSchema = z.object({
  DATABASE_URL: url(/^postgres(ql)?:$/, 'postgres://user@127.0.0.1:5432/nurture').optional(),
  REDIS_URL: url(/^rediss?:$/, 'redis://127.0.0.1:6379').optional(),
  SMTP_URL: url(/^smtps?:$/, 'smtp://127.0.0.1:1025').optional(),
  NURTURE_FROM: z.string().default('Nurture <nurture@localhost>'),
  NURTURE_DATA_DIR: z.string().default('./.nurture'),
  NURTURE_QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, "-" and "_" only').default('nurture'),
  NURTURE_DEFAULT_TIMEZONE: z
    .string()
    .default('UTC')
    .refine((s) => isValidZone(s), 'is not an IANA time zone (e.g. "America/Chicago")'),
  NURTURE_EMAIL_CAP_PER_DAY: optionalInt,
  NURTURE_EMAIL_CAP_PER_WEEK: optionalInt,
  NURTURE_PROMOTE_ON: list('appointment_requested,info_requested'),
  NURTURE_PROMOTE_CALL_OUTCOMES: list('appointment_booked'),
  NURTURE_LEAD_CALL_DUE: durationText('1 hour'),
  NURTURE_MAX_FUTURE_SKEW: durationText('5 minutes'),
  NURTURE_SWEEP_INTERVAL_MS: int(2_000, 100),
  NURTURE_SCHEDULE_HORIZON_MS: int(120_000, 1_000),
  NURTURE_EVENT_CONCURRENCY: int(400),
  NURTURE_EVENT_BATCH: int(200),
  NURTURE_WAKE_CONCURRENCY: int(16),
  NURTURE_SEND_CONCURRENCY: int(8),
  NURTURE_LOCK_MS: int(30_000, 1_000),
  NURTURE_DB_POOL: int(20),
  NURTURE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface Config {
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
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
  lockMs: number;
  dbPool: number;
  logLevel: z.output<typeof envSchema>['NURTURE_LOG_LEVEL'];
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "unset", as in most twelve-factor tools.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const name = i.path.join('.');
      // URLs may hold passwords: never echo them.
      const given = name.endsWith('_URL') ? undefined : cleaned[name];
      return `${name}: ${i.message}${given !== undefined ? ` (got "${given}")` : ''}`;
    });
    throw new ConfigError(`invalid environment:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  const caps = e.NURTURE_EMAIL_CAP_PER_DAY || e.NURTURE_EMAIL_CAP_PER_WEEK ? { perDay: e.NURTURE_EMAIL_CAP_PER_DAY, perWeek: e.NURTURE_EMAIL_CAP_PER_WEEK } : undefined;
  return {
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    smtpUrl: e.SMTP_URL,
    from: e.NURTURE_FROM,
    dataDir: e.NURTURE_DATA_DIR,
    queuePrefix: e.NURTURE_QUEUE_PREFIX,
    defaultZone: e.NURTURE_DEFAULT_TIMEZONE,
    caps,
    promotion: { onEvents: e.NURTURE_PROMOTE_ON, callOutcomes: e.NURTURE_PROMOTE_CALL_OUTCOMES },
    leadCallDue: e.NURTURE_LEAD_CALL_DUE,
    maxFutureSkew: e.NURTURE_MAX_FUTURE_SKEW,
    sweepIntervalMs: e.NURTURE_SWEEP_INTERVAL_MS,
    horizonMs: e.NURTURE_SCHEDULE_HORIZON_MS,
    concurrency: { events: e.NURTURE_EVENT_CONCURRENCY, wakes: e.NURTURE_WAKE_CONCURRENCY, sends: e.NURTURE_SEND_CONCURRENCY },
    eventBatch: e.NURTURE_EVENT_BATCH,
    lockMs: e.NURTURE_LOCK_MS,
    dbPool: e.NURTURE_DB_POOL,
    logLevel: e.NURTURE_LOG_LEVEL,
  };
}
