import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { confirmOptIn, pendingIdOfToken } from '../../app/confirm-opt-in.js';
import type { FormOutcome } from '../../app/submit-form.js';
import { submitForm } from '../../app/submit-form.js';
import { NotFoundError, NurtureError } from '../../errors.js';
import { htmlPage } from '../html-page.js';
import type { PageContent } from '../html-page.js';
import type { RouteModule } from '../server.js';
import { statusOf } from '../server.js';

/**
 * Hosted opt-in forms (`POST /v1/forms/:formId`) and their double opt-in confirmation links
 * (`/confirm/:token`). A browser's form post (urlencoded) gets a 303 to the form's `redirect` or
 * a small page, errors included; a JSON post gets JSON. An unknown form is a JSON 404 either way.
 */

const formParams = z.object({ formId: z.string().min(1).max(100) });
const tokenParams = z.object({ token: z.string().min(1).max(4096) });
const accepted = z.object({ status: z.enum(['accepted', 'confirmation_sent']), doubleOptIn: z.boolean() });

function wantsJson(req: FastifyRequest): boolean {
  return (req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json');
}

function page(reply: FastifyReply, status: number, content: PageContent) {
  return reply.code(status).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(htmlPage(content));
}

/** What the person is told; a bot that filled the honeypot is told the same. */
function answerOf(o: FormOutcome): z.infer<typeof accepted> {
  const status = o.status === 'ignored' ? (o.doubleOptIn ? 'confirmation_sent' : 'accepted') : o.status;
  return { status, doubleOptIn: o.doubleOptIn };
}

function errorPage(reply: FastifyReply, err: NurtureError) {
  const title = err.code === 'FORBIDDEN' ? 'This form cannot be sent from here' : err.code === 'INPUT_INVALID' ? 'Please check the form' : 'Something went wrong';
  return page(reply, statusOf(err.code), { title, message: err.message });
}

export const formRoutes: RouteModule = (server, ctx) => {
  const forms = { app: ctx.app, intake: ctx.intake, confirmExpiry: ctx.config.forms.confirmExpiry };

  server.post(
    '/v1/forms/:formId',
    {
      schema: { params: formParams, body: z.record(z.string(), z.unknown()), response: { 202: accepted } },
      config: { rateLimit: { max: ctx.config.forms.ratePerMinute, timeWindow: 60_000 } },
    },
    async (req, reply) => {
      const form = ctx.forms.get(req.params.formId);
      if (!form) throw new NotFoundError(`no form "${req.params.formId}" (forms are declared in forms.yaml)`);
      const json = wantsJson(req);
      let outcome: FormOutcome;
      try {
        outcome = await submitForm(forms, {
          form,
          body: req.body,
          headers: { origin: req.headers.origin, referer: req.headers.referer },
          ip: req.ip,
          userAgent: req.headers['user-agent'],
          now: ctx.clock(),
        });
      } catch (err) {
        if (json || !(err instanceof NurtureError) || statusOf(err.code) >= 500) throw err;
        return errorPage(reply, err);
      }
      const answer = answerOf(outcome);
      if (json) return reply.code(202).send(answer);
      if (form.redirect) return reply.redirect(form.redirect, 303);
      return page(reply, 200, answer.status === 'confirmation_sent'
        ? { title: 'Check your inbox', message: 'We sent you an email with a link: click it to confirm your address, and you are signed up.' }
        : { title: 'Thank you', message: 'You are signed up.' });
    },
  );

  // A GET never confirms: mail scanners follow links. It shows the button that does.
  server.get('/confirm/:token', { schema: { params: tokenParams } }, async (req, reply) => {
    try {
      pendingIdOfToken(ctx.app, req.params.token);
    } catch (err) {
      if (err instanceof NurtureError && statusOf(err.code) < 500) return errorPage(reply, err);
      throw err;
    }
    return page(reply, 200, {
      title: 'Confirm your email address',
      message: 'One click and you are signed up.',
      button: { action: `/confirm/${encodeURIComponent(req.params.token)}`, label: 'Yes, sign me up' },
    });
  });

  server.post(
    '/confirm/:token',
    { schema: { params: tokenParams }, config: { rateLimit: { max: ctx.config.forms.ratePerMinute, timeWindow: 60_000 } } },
    async (req, reply) => {
      try {
        const r = await confirmOptIn(forms, { token: req.params.token, ip: req.ip, userAgent: req.headers['user-agent'], now: ctx.clock() });
        if (r.status === 'expired') {
          return page(reply, statusOf('TOKEN_INVALID'), { title: 'This link has expired', message: 'It was not used in time. Please sign up again: we will send you a new link.' });
        }
        return page(reply, 200, { title: 'You are signed up', message: r.status === 'already' ? 'Your address was already confirmed. Thank you!' : 'Thank you for confirming your address.' });
      } catch (err) {
        if (err instanceof NurtureError && statusOf(err.code) < 500) return errorPage(reply, err);
        throw err;
      }
    },
  );
};
