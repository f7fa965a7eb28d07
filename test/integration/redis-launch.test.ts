import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ServiceUnavailableError } from '../../src/errors.js';
import { redisAnswers, resolveRedis } from '../../src/workers/redis-connection.js';
import { freePort } from '../support/net.js';

describe('Redis for the zero-set-up quick start', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('starts a private redis-server with its data in the data dir when none answers, and says so once', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'nurture-redis-'));
    dirs.push(dataDir);
    const port = await freePort();
    const lines: string[] = [];
    const r = await resolveRedis(undefined, { dataDir, mayLaunch: true, log: (m) => lines.push(m), localPort: port });
    try {
      expect(r.url).toBe(`redis://127.0.0.1:${port}`);
      expect(r.owned).toBeDefined();
      expect(await redisAnswers(r.url)).toBe(true);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('started a private redis-server');
      expect((await stat(path.join(dataDir, 'redis'))).isDirectory()).toBe(true);
    } finally {
      await r.owned?.stop();
    }
    expect(await redisAnswers(r.url)).toBe(false);
  });

  it('says in one line how to get Redis when there is none to be had', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'nurture-redis-'));
    dirs.push(dataDir);
    const port = await freePort();
    const saved = process.env.PATH;
    process.env.PATH = dataDir; // no redis-server here
    try {
      const err = await resolveRedis(undefined, { dataDir, mayLaunch: true, log: () => {}, localPort: port }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ServiceUnavailableError);
      const message = (err as Error).message;
      expect(message).toContain('no redis-server on the PATH');
      expect(message).toContain('apt-get install redis-server');
      expect(message).toContain('docker compose up -d redis');
      expect(message.split('\n')).toHaveLength(1);
    } finally {
      process.env.PATH = saved;
    }
  });

  it('does not start one for commands that only talk to a running engine', async () => {
    const port = await freePort();
    const err = await resolveRedis(undefined, { dataDir: tmpdir(), mayLaunch: false, log: () => {}, localPort: port }).catch((e: unknown) => e);
    expect((err as Error).message).toContain(`Redis is not answering at redis://127.0.0.1:${port}`);
  });

  it('checks REDIS_URL when it is set', async () => {
    const port = await freePort();
    const err = await resolveRedis(`redis://127.0.0.1:${port}`, { dataDir: tmpdir(), mayLaunch: true, log: () => {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceUnavailableError);
  });
});
