import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './net.js';

/**
 * A real pgbouncer of its own for one test file (Debian's package), in a temp dir, on a free
 * port of 127.0.0.1, in front of one database: each alias given is a pool of that database in
 * its own pool_mode. Trust auth (the test PostgreSQL trusts 127.0.0.1 too), and the test's user
 * may open the admin console (`pgbouncer` database: SHOW POOLS, SHOW STATS).
 */
export type PoolMode = 'session' | 'transaction' | 'statement';

export interface TestPgbouncer {
  port: number;
  /** The URL of an alias: the test database through this pgbouncer, in that alias's pool mode. */
  url(alias: string): string;
  /** Runs a SHOW command on the admin console; one object per row. */
  show(what: string): Promise<Record<string, string>[]>;
  stop(): Promise<void>;
}

const HOW = "install Debian's pgbouncer: apt-get update && apt-get install -y pgbouncer (.ci/run does it when it is missing)";

/** The binary: on the PATH, or where Debian puts it (/usr/sbin is not on every user's PATH). */
export function pgbouncerBinary(): string {
  for (const dir of [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), '/usr/sbin', '/usr/local/sbin']) {
    const candidate = path.join(dir, 'pgbouncer');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`pgbouncer is not installed: ${HOW}`);
}

export async function startTestPgbouncer(o: { databaseUrl: string; pools: Record<string, PoolMode> }): Promise<TestPgbouncer> {
  const binary = pgbouncerBinary();
  const target = new URL(o.databaseUrl);
  const user = decodeURIComponent(target.username);
  if (!user) throw new Error('startTestPgbouncer: the database URL must name its user (withUser)');
  const dbname = decodeURIComponent(target.pathname.slice(1));
  const port = await freePort();
  const dir = await mkdtemp(path.join(tmpdir(), `nurture-pgbouncer-${port}-`));
  // pgbouncer refuses to run as root; as root it is told to switch to nobody (-u), who must read its files.
  const asRoot = process.getuid?.() === 0;
  await chmod(dir, 0o755);
  const databases = Object.entries(o.pools).map(
    ([alias, mode]) => `${alias} = host=${target.hostname} port=${target.port || 5432} dbname=${dbname} pool_mode=${mode}`,
  );
  const ini = [
    '[databases]',
    ...databases,
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    // No unix socket: files run in parallel, each pgbouncer on its own port.
    'unix_socket_dir =',
    'auth_type = trust',
    `auth_file = ${path.join(dir, 'userlist.txt')}`,
    `admin_users = ${user}`,
    'pool_mode = transaction',
    'default_pool_size = 20',
    'max_client_conn = 500',
    // The default: the server freed last is handed out first, as in most deployments.
    'server_round_robin = 0',
    '',
  ].join('\n');
  const iniPath = path.join(dir, 'pgbouncer.ini');
  await writeFile(iniPath, ini, { mode: 0o644 });
  await writeFile(path.join(dir, 'userlist.txt'), `"${user}" ""\n`, { mode: 0o644 });

  const child: ChildProcess = spawn(binary, [...(asRoot ? ['-u', 'nobody'] : []), iniPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (err) => {
      output += `\n${err.message}`;
      resolve();
    });
  });
  let gone = false;
  void exited.then(() => (gone = true));

  const stop = async () => {
    if (!gone) child.kill('SIGTERM'); // immediate shutdown: server connections are closed
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 10_000;
  while (!/listening on 127\.0\.0\.1:\d+/.test(output)) {
    if (gone || Date.now() > deadline) {
      await stop();
      throw new Error(`pgbouncer did not start on port ${port}:\n${output.trim() || '(no output)'}\n(${HOW})`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  const urlOf = (database: string) => {
    const url = new URL(o.databaseUrl);
    url.port = String(port);
    url.pathname = `/${database}`;
    return url.toString();
  };
  return {
    port,
    url(alias) {
      if (!(alias in o.pools)) throw new Error(`no pool "${alias}" in this pgbouncer (${Object.keys(o.pools).join(', ')})`);
      return urlOf(alias);
    },
    async show(what) {
      // The admin console speaks the simple query protocol only: a query without parameters.
      const c = new pg.Client({ connectionString: urlOf('pgbouncer') });
      await c.connect();
      try {
        return (await c.query<Record<string, string>>(`SHOW ${what}`)).rows;
      } finally {
        await c.end();
      }
    },
    stop,
  };
}
