import formbody from '@fastify/formbody';
import rateLimit from '@fastify/rate-limit';
import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { ErrorCode } from '../errors.js';
import { ERROR_CODES, NurtureError, httpStatusOf } from '../errors.js';
import type { HttpContext } from './context.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The body as received, for JSON requests (signature checks). */
    rawBody?: Buffer;
  }
}

/** The server as route modules see it: zod schemas type every request and answer. */
export type NurtureServer = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>;

/** One file of routes: registers its routes on the server, with the context they call. */
export type RouteModule = (server: NurtureServer, ctx: HttpContext) => void | Promise<void>;

/** The answer to every request that fails, whoever raised it. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; field?: string };
}

export function errorBody(code: ErrorCode, message: string, field?: string): ErrorBody {
  return { error: { code, message, ...(field ? { field } : {}) } };
}

/** Fastify's own refusals (bad JSON, a body too large, an unknown content type) under our codes. */
function codeForStatus(status: number): ErrorCode {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return 'CONFLICT';
  if (status === 413) return 'PAYLOAD_TOO_LARGE';
  if (status === 429) return 'RATE_LIMITED';
  if (status >= 500) return 'INTERNAL';
  return 'INPUT_INVALID';
}

export interface BuildServerOptions {
  routes: readonly RouteModule[];
}

/**
 * Builds (does not start) the HTTP server. Every failure becomes `{ error: { code, message,
 * field? } }` with the status of its code in src/errors.ts; a request that Nurture did not
 * expect to fail is a 500, logged once with its request id.
 */
export async function buildServer(ctx: HttpContext, o: BuildServerOptions): Promise<NurtureServer> {
  const server = Fastify({
    loggerInstance: ctx.app.log.child({ component: 'http' }) as FastifyBaseLogger,
    // One line per request is too much for an edge that takes webhooks; failures are logged below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: ctx.config.http.bodyLimit,
    requestIdHeader: 'x-request-id',
    // Behind a proxy the client's address is in X-Forwarded-For; rate limits are per client.
    trustProxy: ctx.config.http.trustProxy,
    return503OnClosing: true,
    // Signed tokens are path parameters: a click token carries its target URL (find-my-way's default is 100).
    routerOptions: { maxParamLength: 4096 },
  }).withTypeProvider<ZodTypeProvider>();
  server.setValidatorCompiler(validatorCompiler);
  server.setSerializerCompiler(serializerCompiler);

  server.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const first = err.validation[0];
      const where = [err.validationContext, ...(first?.instancePath ?? '').split('/')].filter(Boolean).join('.');
      const message = first ? `${where}: ${first.message}` : err.message;
      return reply.code(400).send(errorBody('INPUT_INVALID', message, where || undefined));
    }
    if (err instanceof NurtureError) {
      const status = httpStatusOf(err);
      const field = 'field' in err && typeof err.field === 'string' ? err.field : undefined;
      if (status >= 500 && err.code !== 'SERVICE_UNAVAILABLE') {
        // Stored data or a bug: the operator reads the log; the client learns nothing of the inside.
        req.log.error({ err, reqId: req.id, url: req.url }, 'request failed');
        return reply.code(status).send(errorBody(err.code, `internal error (request ${req.id})`));
      }
      if (status >= 500) req.log.error({ err, reqId: req.id, url: req.url }, 'request failed');
      return reply.code(status).send(errorBody(err.code, err.message, field));
    }
    if (isResponseSerializationError(err)) {
      req.log.error({ err, reqId: req.id, url: req.url }, 'answer does not fit its schema');
      return reply.code(500).send(errorBody('INTERNAL', `internal error (request ${req.id})`));
    }
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) {
      req.log.error({ err, reqId: req.id, url: req.url }, 'request failed');
      return reply.code(status).send(errorBody('INTERNAL', `internal error (request ${req.id})`));
    }
    return reply.code(status).send(errorBody(codeForStatus(status), err.message));
  });
  server.setNotFoundHandler((req, reply) => {
    reply.code(404).send(errorBody('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`));
  });

  // Signed requests (Standard Webhooks, providers' callbacks) are verified over the exact bytes sent.
  const parseJson = server.getDefaultJsonParser('error', 'error');
  server.removeContentTypeParser('application/json');
  server.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    req.rawBody = body as Buffer;
    parseJson(req, (body as Buffer).toString('utf8'), done);
  });
  await server.register(formbody, { bodyLimit: ctx.config.http.bodyLimit });
  // Off by default: each public route names its own limit (forms per IP, events per key).
  await server.register(rateLimit, {
    global: false,
    // What this returns is thrown, and reaches the error handler above: it reads `statusCode` and `message`.
    errorResponseBuilder: (_req, c) => {
      const message = `rate limit exceeded: at most ${c.max} requests per ${c.after}; try again in ${Math.ceil(c.ttl / 1000)} s`;
      return { statusCode: c.statusCode, message, ...errorBody('RATE_LIMITED', message) };
    },
  });
  for (const routes of o.routes) await routes(server, ctx);
  return server;
}

/** The HTTP status a code answers with (exported for routes that answer HTML pages). */
export function statusOf(code: ErrorCode): number {
  return ERROR_CODES[code].http;
}
