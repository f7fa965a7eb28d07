import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';

const SECRET_FILE = 'secret';

/**
 * The signing secrets: NURTURE_SECRET when set. On the embedded default (no DATABASE_URL) a
 * secret is generated once and kept in the data directory, so the quick start needs no set-up
 * and links mailed yesterday still verify today. Against a shared database every process must
 * sign with the same secret, so there it must be given.
 */
export function resolveSecrets(config: Pick<Config, 'secrets' | 'databaseUrl' | 'dataDir'>): readonly string[] {
  if (config.secrets && config.secrets.length > 0) return config.secrets;
  if (config.databaseUrl) {
    throw new ConfigError(
      'NURTURE_SECRET is required with DATABASE_URL: every process must sign links with the same secret (generate one with `openssl rand -hex 32`)',
    );
  }
  const file = path.join(config.dataDir, SECRET_FILE);
  try {
    const kept = readFileSync(file, 'utf8').trim();
    if (kept.length >= 32) return [kept];
    throw new ConfigError(`${file}: the kept secret is shorter than 32 characters; delete the file to have a new one generated (links already mailed stop working)`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(config.dataDir, { recursive: true });
  const secret = randomBytes(32).toString('hex');
  // 'wx': two processes starting at once keep one secret, not two.
  try {
    writeFileSync(file, `${secret}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return resolveSecrets(config);
    throw err;
  }
  chmodSync(file, 0o600);
  return [secret];
}
