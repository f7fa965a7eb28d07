import { execFile } from 'node:child_process';
import { chown, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './net.js';

const run = promisify(execFile);

/**
 * A PostgreSQL cluster of the test's own (initdb into a temp dir, on a free port), for tests that
 * restart or stop the server: the shared cluster on 5432 is never touched. PostgreSQL refuses to
 * run as root, so under root the server runs as the `postgres` OS user (runuser) in a directory it
 * owns; the superuser is named after the current user, so clients connect as usual (trust auth).
 */
export interface PrivatePostgres {
  /** postgres://<current user>@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  /** pg_ctl restart with this mode; resolves once the server accepts connections again. */
  restart(mode: 'fast' | 'immediate'): Promise<void>;
  /** Stops the server (immediate) and removes its directory. Idempotent; never throws. */
  stop(): Promise<void>;
}

async function binDir(): Promise<string> {
  const root = '/usr/lib/postgresql';
  const versions = (await readdir(root).catch(() => [] as string[])).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error(`no PostgreSQL server binaries under ${root}/<version>/bin (apt-get install postgresql)`);
  return path.join(root, versions[0]!, 'bin');
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
  const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
  return { uid, gid };
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = await binDir();
  const asRoot = process.getuid?.() === 0;
  const dir = await mkdtemp(path.join(tmpdir(), 'nurture-pg-'));
  const data = path.join(dir, 'data');
  const log = path.join(dir, 'server.log');
  const port = await freePort();
  const user = userInfo().username;
  const asServer = (cmd: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', path.join(bin, cmd), ...args]) : run(path.join(bin, cmd), args);
  const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200`;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      await asServer('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
      await rm(dir, { recursive: true, force: true }).catch(() => {});
    })());
  try {
    if (asRoot) {
      const { uid, gid } = await postgresIds();
      await chown(dir, uid, gid);
    }
    await asServer('initdb', ['-D', data, '-A', 'trust', '-U', user, '-E', 'UTF8', '--no-sync']);
    await asServer('pg_ctl', ['-D', data, '-o', serverOptions, '-l', log, '-w', '-t', '60', 'start']);
  } catch (error) {
    await stop();
    throw new Error(`could not start a private PostgreSQL in ${dir}: ${(error as Error).message}`, { cause: error });
  }
  return {
    url: `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/postgres`,
    port,
    async restart(mode) {
      await asServer('pg_ctl', ['-D', data, '-m', mode, '-o', serverOptions, '-l', log, '-w', '-t', '60', 'restart']);
    },
    stop,
  };
}
