import { readFile, stat } from 'node:fs/promises';
import { redactUrl } from '../security/redact-url.js';
import type { Config } from '../config.js';
import { loadConfig } from '../config.js';
import { openStore, verifyMigrationPath } from '../db/database.js';
import { pendingMigrations } from '../db/migrate.js';
import { storeOptions } from './store-options.js';
import type { Store } from '../db/database.js';
import { databaseNow } from '../db/ping.js';
import { ConfigError } from '../errors.js';
import { createSmtpSender } from '../templates/smtp-sender.js';
import { DEFAULT_REDIS_URL, clusterAppendOnly, clusterProblem, describeRedis, redisAnswers, redisAppendOnly } from '../workers/redis-connection.js';
import type { DoctorCheck, DoctorReport } from './doctor-checks.js';
import { clockSkewCheck, configCheck, dkimKeyCheck, doctorReport, migrationsCheck, projectCheck, redisPersistenceCheck } from './doctor-checks.js';
import { validateProject } from './validate-project.js';
import { within } from '../within.js';

export interface DoctorOptions {
  env: NodeJS.ProcessEnv;
  sequencesDir: string;
  templatesDir: string;
  /** A DKIM private key file to check. */
  dkimKeyFile?: string | undefined;
  /** Longest wait for one service. */
  timeoutMs?: number;
}

const TIMEOUT_MS = 5_000;

/**
 * `nurture doctor`: asks each thing Nurture depends on whether it is fit for production and
 * collects the answers (the judging is in doctor-checks.ts). Every check runs even when an
 * earlier one failed, so one run lists everything to fix; each service has a time limit.
 */
export async function runDoctor(o: DoctorOptions): Promise<DoctorReport> {
  const checks: DoctorCheck[] = [];
  let config: Config;
  try {
    config = loadConfig(o.env);
    checks.push(configCheck({ warnings: config.warnings }));
  } catch (err) {
    checks.push(configCheck({ error: (err as Error).message }));
    return doctorReport(checks);
  }
  const timeoutMs = o.timeoutMs ?? TIMEOUT_MS;
  checks.push(...(await databaseChecks(config, timeoutMs)));
  checks.push(...(await redisChecks(config)));
  checks.push(await smtpCheck(config, timeoutMs));
  if (o.dkimKeyFile !== undefined) checks.push(dkimKeyCheck(o.dkimKeyFile, await readText(o.dkimKeyFile)));
  checks.push(await projectChecks(o.sequencesDir, o.templatesDir));
  return doctorReport(checks);
}

async function databaseChecks(config: Config, timeoutMs: number): Promise<DoctorCheck[]> {
  const where = config.databaseUrl ? 'PostgreSQL' : `the embedded store in ${config.dataDir}`;
  let store: Store | undefined;
  try {
    // Opened without migrating: the doctor says what is pending and changes nothing.
    const opts = storeOptions(config, { poolSize: 1, migrate: false });
    store = await within(openStore(opts), timeoutMs, `${where} did not answer within ${timeoutMs} ms`);
    // Opening an up-to-date store checks nothing about the way migrations go: the next upgrade would find out.
    await within(verifyMigrationPath(store, opts), timeoutMs, `${where} did not answer the migration path check within ${timeoutMs} ms`);
    const before = Date.now();
    const dbNow = await within(databaseNow(store.db), timeoutMs, `${where} did not answer select now() within ${timeoutMs} ms`);
    const after = Date.now();
    const checks: DoctorCheck[] = [{ name: 'database', status: 'ok', detail: `${store.describe} answers (${after - before} ms)` }];
    // The query's midpoint stands for the instant Postgres read its clock.
    if (config.databaseUrl) checks.push(clockSkewCheck(dbNow.getTime() - (before + after) / 2));
    checks.push(migrationsCheck(await within(pendingMigrations(store.db), timeoutMs, `${where} did not answer the migration table query within ${timeoutMs} ms`)));
    return checks;
  } catch (err) {
    const fix =
      err instanceof ConfigError
        ? 'correct DATABASE_URL and DATABASE_DIRECT_URL as said (see PostgreSQL connections in the README)'
        : config.databaseUrl
          ? 'start PostgreSQL or correct DATABASE_URL (docker compose up -d postgres)'
          : 'stop the other process holding the embedded store, or set DATABASE_URL';
    return [{ name: 'database', status: 'fail', detail: (err as Error).message, fix }];
  } finally {
    await store?.close().catch(() => {});
  }
}

async function redisChecks(config: Config): Promise<DoctorCheck[]> {
  if (config.redisCluster) return clusterChecks(config.redisCluster);
  const real = config.redisUrl ?? DEFAULT_REDIS_URL;
  // What the checks print: never the password.
  const url = redactUrl(real);
  if (!(await redisAnswers(real))) {
    if (!config.redisUrl) return [{ name: 'redis', status: 'warn', detail: `no REDIS_URL and nothing on ${url}: only \`nurture start\` works, with a private redis-server it launches`, fix: 'set REDIS_URL to a Redis every process shares' }];
    return [{ name: 'redis', status: 'fail', detail: `Redis is not answering at ${url}`, fix: 'start Redis or correct REDIS_URL (docker compose up -d redis)' }];
  }
  try {
    return [{ name: 'redis', status: 'ok', detail: `Redis answers at ${url}` }, redisPersistenceCheck(await redisAppendOnly(real), url)];
  } catch (err) {
    return [{ name: 'redis', status: 'fail', detail: `Redis at ${url}: ${(err as Error).message}`, fix: 'check REDIS_URL (password, TLS)' }];
  }
}

/** A Redis Cluster: it answers with all slots served, and every master keeps an append-only file. */
async function clusterChecks(cluster: NonNullable<Config['redisCluster']>): Promise<DoctorCheck[]> {
  const where = describeRedis({ kind: 'cluster', cluster });
  const problem = await clusterProblem(cluster);
  if (problem) return [{ name: 'redis', status: 'fail', detail: `${where}: ${problem}`, fix: 'start the cluster\'s nodes or correct REDIS_CLUSTER_NODES' }];
  try {
    const masters = await clusterAppendOnly(cluster);
    const persistence = masters.map((m) => redisPersistenceCheck(m.appendOnly, m.node));
    // One line when every master is fine; otherwise one per master that is not.
    const notOk = persistence.filter((c) => c.status !== 'ok');
    const summary: DoctorCheck = { name: 'redis persistence', status: 'ok', detail: `append-only file on at all ${masters.length} masters` };
    return [{ name: 'redis', status: 'ok', detail: `${where} answers, cluster_state ok, ${masters.length} masters` }, ...(notOk.length > 0 ? notOk : [summary])];
  } catch (err) {
    return [{ name: 'redis', status: 'fail', detail: `${where}: ${(err as Error).message}`, fix: 'check REDIS_CLUSTER_NODES (password, TLS)' }];
  }
}

async function smtpCheck(config: Config, timeoutMs: number): Promise<DoctorCheck> {
  if (!config.smtpUrl) {
    return { name: 'smtp', status: 'warn', detail: `no SMTP_URL: email is written as .eml files to ${config.dataDir}/outbox, not sent`, fix: 'set SMTP_URL to your mail server (smtp://user:pass@host:587)' };
  }
  const sender = createSmtpSender(config.smtpUrl);
  try {
    const seen = await within(sender.probe!(), timeoutMs, `${sender.describe()} did not answer within ${timeoutMs} ms`);
    if (seen.reachable) return { name: 'smtp', status: 'ok', detail: `${sender.describe()} answers` };
    return { name: 'smtp', status: 'fail', detail: `${sender.describe()}: ${seen.reason}`, fix: 'start the mail server or correct SMTP_URL' };
  } catch (err) {
    return { name: 'smtp', status: 'fail', detail: (err as Error).message, fix: 'start the mail server or correct SMTP_URL' };
  } finally {
    await sender.close();
  }
}

async function projectChecks(sequencesDir: string, templatesDir: string): Promise<DoctorCheck> {
  const dirs = { sequences: sequencesDir, templates: templatesDir };
  // A worker's container has no sequence files (it reads the live set from Postgres): nothing to check.
  if (!(await isDirectory(sequencesDir))) return projectCheck(dirs, { missing: `${sequencesDir} folder` });
  const r = await validateProject(sequencesDir, templatesDir);
  return projectCheck(dirs, { problems: r.problems, sequences: r.sequences.length, templates: r.templatesChecked });
}

async function readText(file: string): Promise<{ text: string } | { error: string }> {
  try {
    return { text: await readFile(file, 'utf8') };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { error: e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'not readable (permission denied)' : e.message };
  }
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

