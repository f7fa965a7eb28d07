import { spawn } from 'node:child_process';
import { redactUrl } from '../security/redact-url.js';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Cluster, Redis } from 'ioredis';
import type { ClusterOptions, RedisOptions } from 'ioredis';
import type { RedisClusterConfig } from '../config.js';
import { ServiceUnavailableError } from '../errors.js';
import { within } from '../within.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

const HOW_TO_GET_REDIS =
  'install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or run `docker compose up -d redis`, then set REDIS_URL if it is not on 127.0.0.1:6379';

/** One connection; workers need `maxRetriesPerRequest: null` (BullMQ blocks on it), producers must not. */
export function redisConnection(url: string, role: 'worker' | 'producer'): Redis {
  return new Redis(url, { ...roleOptions(role), lazyConnect: true });
}

function roleOptions(role: 'worker' | 'producer'): RedisOptions {
  return role === 'worker' ? { maxRetriesPerRequest: null, enableOfflineQueue: true } : { maxRetriesPerRequest: 3 };
}

/** One Redis or a Redis Cluster: BullMQ, and the few commands Nurture sends itself, work on either. */
export type RedisClient = Redis | Cluster;

/** Where the queues live: REDIS_URL (or the local default), or REDIS_CLUSTER_NODES. */
export type RedisTarget = { kind: 'single'; url: string } | { kind: 'cluster'; cluster: RedisClusterConfig };

/** For logs and messages: never the password. */
export function describeRedis(t: RedisTarget): string {
  return t.kind === 'single' ? redactUrl(t.url) : `Redis Cluster ${t.cluster.nodes.map((n) => (n.host.includes(':') ? `[${n.host}]:${n.port}` : `${n.host}:${n.port}`)).join(',')}`;
}

/** One connection to the target, with the same role rules as `redisConnection`. */
export function redisClient(target: RedisTarget, role: 'worker' | 'producer'): RedisClient {
  return target.kind === 'single' ? redisConnection(target.url, role) : clusterConnection(target.cluster, roleOptions(role));
}

function clusterConnection(c: RedisClusterConfig, perNode: RedisOptions, extra: Omit<ClusterOptions, 'redisOptions'> = {}): Cluster {
  const redisOptions: RedisOptions = {
    ...perNode,
    ...(c.username ? { username: c.username } : {}),
    ...(c.password ? { password: c.password } : {}),
    ...(c.tls ? { tls: {} } : {}),
  };
  // Managed clusters with TLS announce names their certificates carry: connect by name, not by a resolved address.
  const lookup: Partial<ClusterOptions> = c.tls ? { dnsLookup: (address, callback) => callback(null, address) } : {};
  return new Cluster(c.nodes, { lazyConnect: true, ...lookup, ...extra, redisOptions });
}

/** A short-lived connection to the cluster that gives up at once rather than retrying. */
function clusterProbe(c: RedisClusterConfig): Cluster {
  const probe = clusterConnection(
    c,
    { maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 },
    { clusterRetryStrategy: () => null, enableOfflineQueue: false, slotsRefreshTimeout: 1000 },
  );
  probe.on('error', () => {});
  return probe;
}

const CLUSTER_ANSWER_MS = 3000;
const CLUSTER_LATE = `the cluster did not answer within ${CLUSTER_ANSWER_MS / 1000} s`;

/** Undefined when the cluster answers and says its state is ok; otherwise what is wrong. */
export async function clusterProblem(c: RedisClusterConfig): Promise<string | undefined> {
  const probe = clusterProbe(c);
  try {
    return await within(
      (async () => {
        await probe.connect();
        const info = String(await probe.cluster('INFO'));
        const state = /cluster_state:(\w+)/.exec(info)?.[1];
        return state === 'ok' ? undefined : `it answers but its cluster_state is ${state ?? 'unknown'} (are all 16384 slots assigned? see redis-cli --cluster check)`;
      })(),
      CLUSTER_ANSWER_MS,
      CLUSTER_LATE,
    );
  } catch (err) {
    return (err as Error).message;
  } finally {
    probe.disconnect();
  }
}

/**
 * Each master's `appendonly` setting (undefined where CONFIG GET is refused), by node. Throws
 * when the cluster does not answer.
 */
export async function clusterAppendOnly(c: RedisClusterConfig): Promise<{ node: string; appendOnly: string | undefined }[]> {
  const probe = clusterProbe(c);
  try {
    await within(probe.connect(), CLUSTER_ANSWER_MS, CLUSTER_LATE);
    const out: { node: string; appendOnly: string | undefined }[] = [];
    for (const node of probe.nodes('master')) {
      const answer = (await node.config('GET', 'appendonly').catch(() => undefined)) as unknown;
      out.push({ node: `${node.options.host}:${node.options.port}`, appendOnly: Array.isArray(answer) && typeof answer[1] === 'string' ? answer[1] : undefined });
    }
    return out;
  } finally {
    probe.disconnect();
  }
}

/** Answers whether a Redis is up at `url`, within a second, without leaving a connection behind. */
export async function redisAnswers(url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000, enableOfflineQueue: false });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

export async function requireRedis(url: string): Promise<void> {
  if (!(await redisAnswers(url))) {
    throw new ServiceUnavailableError(`Redis is not answering at ${redactUrl(url)}: start it (redis-server, or docker compose up -d redis), or check REDIS_URL`);
  }
}

export interface PrivateRedis {
  url: string;
  stop(): Promise<void>;
}

/**
 * For the zero-set-up quick start: with REDIS_URL unset and nothing on 127.0.0.1:6379, run a
 * private redis-server from the PATH with its data (append-only file) under the data dir.
 */
export async function launchPrivateRedis(dataDir: string, log: (msg: string) => void, port = 6379): Promise<PrivateRedis> {
  const url = `redis://127.0.0.1:${port}`;
  const dir = path.resolve(dataDir, 'redis');
  await mkdir(dir, { recursive: true });
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--daemonize', 'no'];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'ENOENT' ? 'no redis-server on the PATH' : err.message;
      reject(new ServiceUnavailableError(`No Redis at ${url} and could not start one (${why}): ${HOW_TO_GET_REDIS}`));
    });
    child.once('exit', (code) => reject(new ServiceUnavailableError(`redis-server exited (code ${code}) before answering: ${HOW_TO_GET_REDIS}`)));
  });
  failed.catch(() => {});
  for (let i = 0; i < 50; i++) {
    await Promise.race([new Promise((r) => setTimeout(r, 100)), failed]);
    if (await redisAnswers(url)) break;
    if (i === 49) {
      child.kill('SIGKILL');
      throw new ServiceUnavailableError(`redis-server did not answer within 5 s: ${HOW_TO_GET_REDIS}`);
    }
  }
  log(`no Redis at ${url}: started a private redis-server (pid ${child.pid}) with its data in ${dir}`);
  return {
    url,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Resolves the Redis to use: REDIS_URL, else a local one, else (if allowed) a private one. */
export async function resolveRedis(
  configured: string | undefined,
  opts: { dataDir: string; mayLaunch: boolean; log: (msg: string) => void; localPort?: number },
): Promise<{ url: string; owned?: PrivateRedis }> {
  if (configured) {
    await requireRedis(configured);
    return { url: configured };
  }
  const port = opts.localPort ?? 6379;
  const local = `redis://127.0.0.1:${port}`;
  if (await redisAnswers(local)) return { url: local };
  if (!opts.mayLaunch) {
    throw new ServiceUnavailableError(`Redis is not answering at ${local}: is \`nurture start\` running? Otherwise ${HOW_TO_GET_REDIS}`);
  }
  const owned = await launchPrivateRedis(opts.dataDir, opts.log, port);
  return { url: owned.url, owned };
}

/**
 * The Redis every process shares: the cluster when REDIS_CLUSTER_NODES is set (never a private
 * one then), otherwise as `resolveRedis` decides.
 */
export async function resolveRedisTarget(
  config: { redisUrl: string | undefined; redisCluster: RedisClusterConfig | undefined },
  opts: { dataDir: string; mayLaunch: boolean; log: (msg: string) => void; localPort?: number },
): Promise<{ target: RedisTarget; owned?: PrivateRedis }> {
  if (config.redisCluster) {
    const target: RedisTarget = { kind: 'cluster', cluster: config.redisCluster };
    const problem = await clusterProblem(config.redisCluster);
    if (problem) throw new ServiceUnavailableError(`${describeRedis(target)} is not usable: ${problem}; check REDIS_CLUSTER_NODES and that the nodes run with cluster-enabled yes`);
    return { target };
  }
  const r = await resolveRedis(config.redisUrl, opts);
  return { target: { kind: 'single', url: r.url }, ...(r.owned ? { owned: r.owned } : {}) };
}

/**
 * Redis's `appendonly` setting at `url`, or undefined when CONFIG GET is refused (some managed
 * Redis rename or forbid it). Throws when Redis does not answer.
 */
export async function redisAppendOnly(url: string): Promise<string | undefined> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000, enableOfflineQueue: false });
  probe.on('error', () => {});
  try {
    await probe.connect();
    try {
      const answer = (await probe.config('GET', 'appendonly')) as unknown;
      return Array.isArray(answer) && typeof answer[1] === 'string' ? answer[1] : undefined;
    } catch {
      return undefined;
    }
  } finally {
    probe.disconnect();
  }
}
