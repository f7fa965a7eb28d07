import net from 'node:net';
import { userInfo } from 'node:os';

/** pg falls back to $USER, which CI may not set: name the OS user explicitly when the URL has none. */
export function withUser(raw: string): string {
  const url = new URL(raw);
  if (!url.username) url.username = process.env.PGUSER ?? process.env.USER ?? userInfo().username;
  return url.toString();
}

export const REDIS_TEST_URL = process.env.REDIS_URL_TEST ?? 'redis://127.0.0.1:6379';
export const POSTGRES_TEST_URL = withUser(process.env.DATABASE_URL_TEST ?? 'postgres://127.0.0.1:5432/test');

function answers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 1500 });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(false));
  });
}

/** Fails at once with how to start a missing service, instead of a test timing out. */
export async function requireServices(): Promise<void> {
  const redis = new URL(REDIS_TEST_URL);
  const pg = new URL(POSTGRES_TEST_URL);
  const missing: string[] = [];
  if (!(await answers(redis.hostname, Number(redis.port || 6379)))) {
    missing.push(`Redis is not answering at ${redis.host}: start it with redis-server --daemonize yes --port 6379 --save "" --appendonly no`);
  }
  if (!(await answers(pg.hostname, Number(pg.port || 5432)))) {
    missing.push(`PostgreSQL is not answering at ${pg.host}: start it with pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`);
  }
  if (missing.length > 0) throw new Error(missing.join('\n'));
}
