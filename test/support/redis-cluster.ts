import { spawn, execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from './net.js';

const run = promisify(execFile);

/** A real Redis Cluster of its own for one test file: Debian's redis-server, one temp dir per node. */
export interface TestCluster {
  ports: number[];
  /** The value of REDIS_CLUSTER_NODES that reaches it. */
  nodesEnv: string;
  /** A plain connection to each node (for CLUSTER and CONFIG commands); closed by stop(). */
  node(port: number): Redis;
  stop(): Promise<void>;
}

interface Node {
  port: number;
  dir: string;
  child: ChildProcess;
  exited: Promise<unknown>;
}

const HOW = 'install redis-server and redis-cli (Debian/Ubuntu: apt-get install redis-server)';

export async function startTestCluster(size = 3): Promise<TestCluster> {
  const nodes: Node[] = [];
  const clients = new Map<number, Redis>();
  const stop = async () => {
    for (const c of clients.values()) c.disconnect();
    await Promise.all(
      nodes.map(async (n) => {
        if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGKILL');
        await n.exited;
        await rm(n.dir, { recursive: true, force: true });
      }),
    );
  };
  try {
    for (let i = 0; i < size; i++) {
      const port = await freePort();
      const dir = await mkdtemp(path.join(tmpdir(), `nurture-cluster-${port}-`));
      // No persistence: the nodes live as long as the test file. cluster-node-timeout short so a
      // node that is gone is noticed quickly if a test ever kills one.
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '3000', '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
      const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      const exited = new Promise((resolve) => {
        child.once('exit', resolve);
        child.once('error', resolve);
      });
      nodes.push({ port, dir, child, exited });
    }
    for (const n of nodes) {
      // Reconnects every 100 ms until the server listens; PING waits in the offline queue till then.
      const c = new Redis({ host: '127.0.0.1', port: n.port, maxRetriesPerRequest: null, retryStrategy: () => 100 });
      c.on('error', () => {});
      clients.set(n.port, c);
      await within(c.ping(), 10_000, `redis-server on port ${n.port} did not start: ${HOW}`);
    }
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 }).catch((err: Error) => {
      throw new Error(`redis-cli --cluster create failed: ${err.message} (${HOW})`);
    });
    // Every node must agree that all slots are served before a client is pointed at it.
    const deadline = Date.now() + 20_000;
    for (const c of clients.values()) {
      for (;;) {
        const info = String(await c.cluster('INFO'));
        if (info.includes('cluster_state:ok') && /cluster_known_nodes:(\d+)/.exec(info)?.[1] === String(size)) break;
        if (Date.now() > deadline) throw new Error(`the test cluster did not reach cluster_state:ok:\n${info}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const ports = nodes.map((n) => n.port);
  return {
    ports,
    nodesEnv: ports.map((p) => `127.0.0.1:${p}`).join(','),
    node(port) {
      const c = clients.get(port);
      if (!c) throw new Error(`no node of the test cluster on port ${port}`);
      return c;
    },
    stop,
  };
}

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
