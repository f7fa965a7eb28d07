import { createPrivateKey } from 'node:crypto';
import type { FileProblem } from '../errors.js';

/**
 * The decisions of `nurture doctor`, one small pure function per check: each takes what was
 * observed and says whether it is fine, worth a warning, or must be fixed, and how to fix it.
 * The observing is in src/app/doctor.ts.
 */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface DoctorCheck {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do about it (warn and fail). */
  fix?: string;
}

export function configCheck(r: { warnings: readonly string[] } | { error: string }): DoctorCheck {
  if ('error' in r) return { name: 'configuration', status: 'fail', detail: r.error, fix: 'correct the variables named above (see Configuration in the README)' };
  if (r.warnings.length > 0) return { name: 'configuration', status: 'warn', detail: r.warnings.join('; '), fix: 'rename or remove the variables named above' };
  return { name: 'configuration', status: 'ok', detail: 'the environment is valid' };
}

/**
 * Events accepted by the HTTP edge are queued in Redis before Postgres has them: a Redis without
 * an append-only file loses them when it restarts. Not fatal (some run Redis with RDB snapshots
 * on purpose), so a warning with the way to turn it on.
 */
export function redisPersistenceCheck(appendonly: string | undefined, url: string): DoctorCheck {
  const name = 'redis persistence';
  if (appendonly === undefined) {
    return {
      name,
      status: 'warn',
      detail: `could not read appendonly at ${url} (CONFIG GET is refused, as on some managed Redis)`,
      fix: "make sure the provider keeps an append-only file (AOF): events queued only in Redis are lost if it restarts without one",
    };
  }
  if (appendonly === 'yes') return { name, status: 'ok', detail: `append-only file on at ${url}` };
  return {
    name,
    status: 'warn',
    detail: `appendonly is "${appendonly}" at ${url}: events queued there but not yet applied are lost if Redis restarts`,
    fix: 'turn it on now with `redis-cli CONFIG SET appendonly yes` then `redis-cli CONFIG REWRITE` (keeps it across restarts), or start redis-server with --appendonly yes (docker-compose.yml does)',
  };
}

/** Above this, a wake-up computed on this host is late or early by that much against Postgres's own times. */
export const SKEW_WARN_MS = 2_000;
export const SKEW_FAIL_MS = 60_000;

export function clockSkewCheck(skewMs: number): DoctorCheck {
  const name = 'clock';
  const abs = Math.abs(skewMs);
  const detail = `this host is ${(abs / 1000).toFixed(3)} s ${skewMs > 0 ? 'behind' : 'ahead of'} PostgreSQL`;
  if (abs <= SKEW_WARN_MS) return { name, status: 'ok', detail: `this host and PostgreSQL agree within ${(abs / 1000).toFixed(3)} s` };
  const fix = 'synchronise the clocks of this host and the database server (NTP: timedatectl set-ntp true, or chrony)';
  return { name, status: abs > SKEW_FAIL_MS ? 'fail' : 'warn', detail, fix };
}

/**
 * Migrations the store has not applied. The doctor only looks: the engine applies them at its
 * start, and `nurture migrate` alone; a check that changed the schema could wait on the locks of
 * a running engine, and a diagnosis should change nothing.
 */
export function migrationsCheck(pending: readonly string[]): DoctorCheck {
  const name = 'migrations';
  if (pending.length === 0) return { name, status: 'ok', detail: 'every migration of this release is applied' };
  const shown = pending.length > 3 ? `${pending.slice(0, 3).join(', ')} and ${pending.length - 3} more` : pending.join(', ');
  return {
    name,
    status: 'warn',
    detail: `${pending.length} migration(s) of this release not applied yet: ${shown}`,
    fix: 'run `nurture migrate` (the engine also applies them when it starts; see Migrations in the README)',
  };
}

/** The DKIM signing key: a file that can be read and holds a private key nodemailer can sign with. */
export function dkimKeyCheck(file: string, read: { text: string } | { error: string }): DoctorCheck {
  const name = 'dkim key';
  if ('error' in read) return { name, status: 'fail', detail: `${file}: ${read.error}`, fix: `make ${file} readable by the user that runs Nurture` };
  try {
    const key = createPrivateKey(read.text);
    const type = key.asymmetricKeyType ?? 'unknown';
    if (type !== 'rsa' && type !== 'ed25519') {
      return { name, status: 'fail', detail: `${file} holds a ${type} key; DKIM signs with RSA or Ed25519`, fix: 'generate one: openssl genrsa -out dkim.pem 2048' };
    }
    const bits = key.asymmetricKeyDetails?.modulusLength;
    if (type === 'rsa' && bits !== undefined && bits < 1024) {
      return { name, status: 'fail', detail: `${file} holds a ${bits}-bit RSA key; receivers ignore DKIM keys under 1024 bits`, fix: 'generate one: openssl genrsa -out dkim.pem 2048' };
    }
    return { name, status: 'ok', detail: `${file}: a private ${type} key${bits ? ` of ${bits} bits` : ''}` };
  } catch {
    return { name, status: 'fail', detail: `${file} is not a PEM private key`, fix: 'point it at the private key (-----BEGIN PRIVATE KEY----- or RSA PRIVATE KEY), not the public one' };
  }
}

export function projectCheck(dirs: { sequences: string; templates: string }, r: { problems: readonly FileProblem[]; sequences: number; templates: number } | { missing: string }): DoctorCheck {
  const name = 'sequences and templates';
  if ('missing' in r) return { name, status: 'skip', detail: `no ${r.missing} here (give --sequences and --templates to check them)` };
  const errors = r.problems.filter((p) => p.severity === 'error').length;
  const warnings = r.problems.length - errors;
  if (errors > 0) return { name, status: 'fail', detail: `${errors} error(s) in ${dirs.sequences} / ${dirs.templates}`, fix: `run \`nurture validate ${dirs.sequences} --templates ${dirs.templates}\` and correct what it names` };
  if (warnings > 0) return { name, status: 'warn', detail: `${warnings} warning(s) in ${dirs.sequences} / ${dirs.templates}`, fix: `see \`nurture validate ${dirs.sequences} --templates ${dirs.templates}\`` };
  return { name, status: 'ok', detail: `${r.sequences} sequence(s) and ${r.templates} template(s) are valid` };
}

export interface DoctorReport {
  ok: boolean;
  checks: DoctorCheck[];
}

/** Something must be fixed when any check failed; warnings leave the exit code at 0. */
export function doctorReport(checks: DoctorCheck[]): DoctorReport {
  return { ok: checks.every((c) => c.status !== 'fail'), checks };
}
