import { randomBytes, timingSafeEqual } from 'node:crypto';
import cookie from '@fastify/cookie';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { claimInboxTask, completeInboxTask } from '../../app/inbox-actions.js';
import { inboxLogin } from '../../app/inbox-login.js';
import type { StaffSession } from '../../app/staff-sessions.js';
import { endStaffSession, resolveStaffSession } from '../../app/staff-sessions.js';
import { NurtureError, httpStatusOf } from '../../errors.js';
import { inboxQueue } from '../../queries/inbox-queue.js';
import { inboxTask } from '../../queries/inbox-task.js';
import type { InboxViewer } from '../../queries/inbox-viewer.js';
import { inboxViewer } from '../../queries/inbox-viewer.js';
import { outcomesFor } from '../../staff/outcomes.js';
import type { RouteModule } from '../server.js';
import { INBOX_SCRIPT, INBOX_STYLE } from './assets.js';
import { InboxStreams, STREAM_DEFAULTS } from './event-stream.js';
import { loginPage, messagePage, queueItems, queuePage, taskPage } from './views.js';

/**
 * The task inbox at /inbox: staff log in with email and password, see their own tasks and their
 * teams' unclaimed ones, claim, and record outcomes. Every route but the login page and the two
 * static assets needs a session; every POST needs the session's CSRF token (checked before the
 * body is even validated); every task route asks the read model or use case with the viewer, so
 * a task of another team is "not found" whatever the route.
 */

export const SESSION_COOKIE = 'nurture_inbox';
export const LOGIN_CSRF_COOKIE = 'nurture_inbox_login';

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

interface InboxRequestState {
  session: StaffSession;
  token: string;
  viewer: InboxViewer;
}

declare module 'fastify' {
  interface FastifyRequest {
    inbox?: InboxRequestState | undefined;
  }
}

/** A task id the event stream resumes after. */
const taskCursor = z.coerce.number().int().min(0).max(2_147_483_647);
const idParams = z.object({ id: z.coerce.number().int().positive().max(2_147_483_647) });

function sameToken(given: unknown, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

export const inboxRoutes: RouteModule = async (root, ctx) => {
  await root.register(async (plain) => {
    const server = plain.withTypeProvider<ZodTypeProvider>();
    await server.register(cookie);
    const secure = ctx.config.http.publicUrl.startsWith('https:');
    const streams = new InboxStreams(ctx.read, ctx.app.log.child({ component: 'inbox' }));
    server.addHook('preClose', async () => streams.closeAll());
    const nowMs = () => ctx.clock().toMillis();

    const html = (reply: FastifyReply, status: number, body: string) =>
      reply
        .code(status)
        .header('content-security-policy', CSP)
        .header('cache-control', 'no-store')
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'same-origin')
        .type('text/html; charset=utf-8')
        .send(body);

    // Errors of inbox routes are pages for people, not the API's JSON.
    server.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
      const who = req.inbox ? { viewer: req.inbox.viewer, csrf: req.inbox.session.csrfToken } : {};
      if (hasZodFastifySchemaValidationErrors(err)) return html(reply, 400, messagePage({ title: 'Not understood', message: 'That request was not understood.', nowMs: nowMs(), ...who }));
      if (err instanceof NurtureError) {
        const status = httpStatusOf(err);
        if (status >= 500) req.log.error({ err, reqId: req.id, url: req.url }, 'inbox request failed');
        const title = status === 404 ? 'Not found' : status === 409 ? 'Already taken care of' : 'Cannot do that';
        return html(reply, status, messagePage({ title, message: status >= 500 ? `Something went wrong (request ${req.id}).` : err.message, nowMs: nowMs(), ...who }));
      }
      const status = typeof err.statusCode === 'number' && err.statusCode >= 400 ? err.statusCode : 500;
      if (status >= 500) req.log.error({ err, reqId: req.id, url: req.url }, 'inbox request failed');
      const message = status === 429 ? 'Too many attempts: wait a minute and try again.' : status >= 500 ? `Something went wrong (request ${req.id}).` : err.message;
      return html(reply, status, messagePage({ title: status === 429 ? 'Slow down' : 'Cannot do that', message, nowMs: nowMs(), ...who }));
    });

    const off = (reply: FastifyReply) =>
      html(reply, 404, messagePage({ title: 'The inbox is off', message: 'Start Nurture with a team directory (--directory team.yaml) to turn the task inbox on.', nowMs: nowMs() }));

    /** The request's session and viewer, or undefined (no cookie, expired, account disabled, user gone from team.yaml). */
    async function sessionOf(req: FastifyRequest): Promise<InboxRequestState | undefined> {
      const token = req.cookies[SESSION_COOKIE];
      const session = await resolveStaffSession(ctx.app, token, ctx.clock());
      const viewer = session ? inboxViewer(ctx.app.staff, session.email) : undefined;
      return session && viewer && token ? { session, token, viewer } : undefined;
    }

    /** Pages: no session → the login page. */
    const page = async (req: FastifyRequest, reply: FastifyReply) => {
      if (!ctx.app.staff) return off(reply);
      req.inbox = await sessionOf(req);
      if (!req.inbox) return reply.code(303).header('cache-control', 'no-store').redirect('/inbox/login');
    };
    /** Form posts: a session and its CSRF token, or 403, before the body is validated. */
    const post = async (req: FastifyRequest, reply: FastifyReply) => {
      if (!ctx.app.staff) return off(reply);
      req.inbox = await sessionOf(req);
      if (!req.inbox) return html(reply, 403, messagePage({ title: 'Log in first', message: 'Your session has ended: log in again.', nowMs: nowMs() }));
      const given = (req.body as Record<string, unknown> | undefined)?.['_csrf'];
      if (!sameToken(given, req.inbox.session.csrfToken)) {
        return html(reply, 403, messagePage({ title: 'Form expired', message: 'This form is out of date: reload the page and try again.', nowMs: nowMs(), viewer: req.inbox.viewer, csrf: req.inbox.session.csrfToken }));
      }
    };
    const state = (req: FastifyRequest): InboxRequestState => req.inbox!;
    const setLoginCsrf = (reply: FastifyReply) => {
      const token = randomBytes(24).toString('base64url');
      reply.setCookie(LOGIN_CSRF_COOKIE, token, { path: '/inbox/login', httpOnly: true, sameSite: 'strict', secure, maxAge: 3600 });
      return token;
    };

    server.get('/inbox/assets/inbox.js', { schema: {} }, async (_req, reply) =>
      reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=300').header('x-content-type-options', 'nosniff').send(INBOX_SCRIPT),
    );
    server.get('/inbox/assets/inbox.css', { schema: {} }, async (_req, reply) =>
      reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=300').header('x-content-type-options', 'nosniff').send(INBOX_STYLE),
    );

    server.get('/inbox/login', { schema: {} }, async (req, reply) => {
      if (!ctx.app.staff) return off(reply);
      if (await sessionOf(req)) return reply.code(303).redirect('/inbox');
      return html(reply, 200, loginPage({ csrf: setLoginCsrf(reply), nowMs: nowMs() }));
    });

    server.post(
      '/inbox/login',
      {
        config: { rateLimit: { max: ctx.config.inbox.loginRatePerMinute, timeWindow: '1 minute' } },
        // The login form's token is a cookie of its own (there is no session yet): double submit.
        preValidation: async (req, reply) => {
          if (!ctx.app.staff) return off(reply);
          const expected = req.cookies[LOGIN_CSRF_COOKIE];
          const given = (req.body as Record<string, unknown> | undefined)?.['_csrf'];
          if (expected === undefined || !sameToken(given, expected)) {
            return html(reply, 403, loginPage({ csrf: setLoginCsrf(reply), error: 'The form had expired: try again.', nowMs: nowMs() }));
          }
        },
        schema: { body: z.object({ _csrf: z.string().max(200), email: z.string().trim().max(320), password: z.string().max(1024) }) },
      },
      async (req, reply) => {
        const s = await inboxLogin(ctx.app, req.body.email, req.body.password, ctx.clock(), ctx.config.inbox.sessionTtlMs);
        if (!s) return html(reply, 401, loginPage({ csrf: setLoginCsrf(reply), email: req.body.email, error: 'That email and password do not match an inbox account.', nowMs: nowMs() }));
        reply.clearCookie(LOGIN_CSRF_COOKIE, { path: '/inbox/login' });
        reply.setCookie(SESSION_COOKIE, s.token, { path: '/inbox', httpOnly: true, sameSite: 'lax', secure, expires: s.expiresAt });
        return reply.code(303).header('cache-control', 'no-store').redirect('/inbox');
      },
    );

    server.post('/inbox/logout', { preValidation: post, schema: { body: z.object({ _csrf: z.string() }) } }, async (req, reply) => {
      await endStaffSession(ctx.app, state(req).token);
      reply.clearCookie(SESSION_COOKIE, { path: '/inbox' });
      return reply.code(303).redirect('/inbox/login');
    });

    server.get('/inbox', { onRequest: page, schema: {} }, async (req, reply) => {
      const { viewer, session } = state(req);
      const now = ctx.clock();
      const queue = await inboxQueue(ctx.read, viewer, now.toJSDate());
      return html(reply, 200, queuePage({ viewer, csrf: session.csrfToken, queue, nowMs: now.toMillis() }));
    });

    server.get('/inbox/queue-items', { onRequest: page, schema: {} }, async (req, reply) => {
      const { viewer, session } = state(req);
      const now = ctx.clock();
      const queue = await inboxQueue(ctx.read, viewer, now.toJSDate());
      return html(reply, 200, queueItems(queue.items, session.csrfToken, now.toMillis()));
    });

    server.get(
      '/inbox/tasks/:id',
      { onRequest: page, schema: { params: idParams, querystring: z.object({ recorded: z.string().max(64).optional() }) } },
      async (req, reply) => {
        const { viewer, session } = state(req);
        const task = await inboxTask(ctx.read, viewer, req.params.id);
        const outcomes = outcomesFor(task.kind, ctx.app.staff?.outcomes);
        // Only what the task really says was recorded: the query string is a hint, not a fact.
        const recorded = req.query.recorded !== undefined && task.outcome === req.query.recorded ? { outcome: task.outcome } : undefined;
        return html(reply, 200, taskPage({ viewer, csrf: session.csrfToken, task, outcomes, recorded, nowMs: nowMs() }));
      },
    );

    server.post('/inbox/tasks/:id/claim', { preValidation: post, schema: { params: idParams, body: z.object({ _csrf: z.string() }) } }, async (req, reply) => {
      await claimInboxTask(ctx.app, state(req).viewer, req.params.id, ctx.clock());
      return reply.code(303).redirect(`/inbox/tasks/${req.params.id}`);
    });

    server.post(
      '/inbox/tasks/:id/outcome',
      { preValidation: post, schema: { params: idParams, body: z.object({ _csrf: z.string(), outcome: z.string().trim().min(1).max(64) }) } },
      async (req, reply) => {
        await completeInboxTask(ctx.app, state(req).viewer, req.params.id, req.body.outcome, ctx.clock());
        return reply.code(303).redirect(`/inbox/tasks/${req.params.id}?recorded=${encodeURIComponent(req.body.outcome)}`);
      },
    );

    server.get(
      '/inbox/events',
      {
        schema: {
          querystring: z.object({ after: taskCursor.optional() }),
          // A reconnecting EventSource says where it got to; a header it did not write is ignored, not refused.
          headers: z.object({ 'last-event-id': taskCursor.optional().catch(undefined) }),
        },
      },
      async (req, reply) => {
        if (!ctx.app.staff) return off(reply);
        const s = await sessionOf(req);
        if (!s) return html(reply, 401, messagePage({ title: 'Log in first', message: 'Your session has ended: log in again.', nowMs: nowMs() }));
        const refusal = streams.refusal(s.viewer.email, STREAM_DEFAULTS);
        if (refusal) return html(reply.header('retry-after', '10'), 503, messagePage({ title: 'Busy', message: refusal, nowMs: nowMs() }));
        const after = Math.max(req.query.after ?? 0, req.headers['last-event-id'] ?? 0);
        reply.hijack();
        streams.start(reply.raw, s.viewer, after, {
          ...STREAM_DEFAULTS,
          stillValid: async () => (await resolveStaffSession(ctx.app, s.token, ctx.clock())) !== undefined,
        });
      },
    );
  });
};
