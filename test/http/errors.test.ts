import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig } from '../../src/config.js';
import type { HttpContext } from '../../src/http/context.js';
import type { RunningHttpServer } from '../../src/http/start-server.js';
import { startHttpServer } from '../../src/http/start-server.js';
import type { RouteModule } from '../../src/http/server.js';
import { createLogger } from '../../src/logger.js';
import { NotFoundError } from '../../src/errors.js';

/** The server's answers to bad requests, through a real socket, on a route of the test's own. */
const echo: RouteModule = (server) => {
  server.post(
    '/echo',
    { schema: { body: z.object({ name: z.string().min(2), contact: z.object({ email: z.email() }).optional() }) } },
    (req) => ({ name: req.body.name, rawBytes: req.rawBody?.length }),
  );
  server.get('/missing', () => {
    throw new NotFoundError('no contact ann@example.com');
  });
  server.get('/bug', () => {
    throw new Error('boom');
  });
};

describe('HTTP errors', () => {
  let http: RunningHttpServer;
  const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) => fetch(`${http.url}/echo`, { method: 'POST', body, headers });

  beforeAll(async () => {
    const config = loadConfig({ NURTURE_HTTP_BODY_LIMIT: '2048' });
    const ctx = { app: { log: createLogger('silent') }, config } as unknown as HttpContext;
    http = await startHttpServer(ctx, { host: '127.0.0.1', port: 0, routes: [echo] });
  });
  afterAll(async () => {
    await http?.close();
  });

  it('parses JSON and keeps the raw bytes for signature checks', async () => {
    const res = await post('{"name":"Ann"}');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ name: 'Ann', rawBytes: 14 });
  });

  it('names the field that fails the schema', async () => {
    const res = await post('{"name":"Ann","contact":{"email":"nope"}}');
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string; field: string } };
    expect(body.error).toMatchObject({ code: 'INPUT_INVALID', field: 'body.contact.email' });
    expect(body.error.message).toMatch(/^body\.contact\.email: /);
  });

  it('refuses bad JSON, a __proto__ key and an unknown content type with a 4xx and a code', async () => {
    const bad = await post('{"name":');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('INPUT_INVALID');
    const proto = await post('{"name":"Ann","__proto__":{"x":1}}');
    expect(proto.status).toBe(400);
    const type = await post('name=Ann', { 'content-type': 'text/csv' });
    expect(type.status).toBe(415);
    expect(((await type.json()) as { error: { code: string } }).error.code).toBe('INPUT_INVALID');
  });

  it('answers 413 over the body limit', async () => {
    const res = await post(JSON.stringify({ name: 'x'.repeat(4000) }));
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it("answers Nurture's own errors with their code's status, and a bug with 500 and no detail", async () => {
    const missing = await fetch(`${http.url}/missing`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no contact ann@example.com' } });
    const bug = await fetch(`${http.url}/bug`);
    expect(bug.status).toBe(500);
    const body = (await bug.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('INTERNAL');
    expect(body.error.message).not.toContain('boom');
  });
});
