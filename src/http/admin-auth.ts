import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { errorBody } from './server.js';

/**
 * Operator pages (the dashboard, the queue status) behind HTTP Basic authentication with
 * NURTURE_ADMIN_PASSWORD, until staff accounts exist. Unset, the pages are refused outright:
 * figures about contacts are never served to whoever asks.
 */
export function requireAdmin(config: Pick<Config, 'adminPassword'>) {
  const expected = config.adminPassword === undefined ? undefined : hash(config.adminPassword);
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (expected === undefined) {
      await reply.code(403).send(errorBody('FORBIDDEN', 'operator pages are off: set NURTURE_ADMIN_PASSWORD to turn them on'));
      return;
    }
    const given = basicPassword(req.headers.authorization);
    if (given === undefined || !timingSafeEqual(hash(given), expected)) {
      await reply
        .code(401)
        .header('www-authenticate', 'Basic realm="nurture", charset="UTF-8"')
        .send(errorBody('UNAUTHORIZED', 'operator pages need the user "admin" and NURTURE_ADMIN_PASSWORD'));
    }
  };
}

function basicPassword(header: string | undefined): string | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 && decoded.slice(0, colon) === 'admin' ? decoded.slice(colon + 1) : undefined;
}

// Equal-length digests, so the comparison takes the same time whatever was given.
function hash(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
