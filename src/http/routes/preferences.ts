import { z } from 'zod';
import { resubscribeContact } from '../../app/resubscribe-contact.js';
import { saveTopicPreferences } from '../../app/save-topic-preferences.js';
import { unsubscribeContact } from '../../app/unsubscribe-contact.js';
import { TokenError } from '../../errors.js';
import { subscriptionPreferences } from '../../queries/subscription-preferences.js';
import type { LinkSubject } from '../../security/message-links.js';
import { invalidLinkPage, preferencesPage, unknownContactPage } from '../pages/subscription-pages.js';
import { sendPage } from '../pages/send-page.js';
import type { RouteModule } from '../server.js';

const params = z.object({ token: z.string().min(1).max(1024) });
const topicId = z.string().max(100);
// A form sends a repeated field once per checked box: absent, one value, or several.
const body = z.object({
  action: z.enum(['save', 'unsubscribe', 'resubscribe']),
  topics: z.union([topicId, z.array(topicId).max(100)]).optional(),
});

const NOTICES = { save: 'Your choices are saved.', unsubscribe: 'You are unsubscribed from all our emails.', resubscribe: 'You are subscribed again.' } as const;

/** `/p/TOKEN`: the preference page. GET shows the topics and the subscription; POST saves them. */
export const preferencesRoutes: RouteModule = (server, ctx) => {
  const rateLimit = { max: 120, timeWindow: '1 minute' };

  server.get('/p/:token', { schema: { params }, config: { rateLimit } }, async (req, reply) => {
    const subject = ctx.links.subjectOf('preferences', req.params.token);
    if (!subject) return sendPage(reply, 400, invalidLinkPage());
    return show(subject, reply);
  });

  server.post('/p/:token', { schema: { params, body }, config: { rateLimit } }, async (req, reply) => {
    const subject = ctx.links.subjectOf('preferences', req.params.token);
    if (!subject) throw new TokenError('this preferences link is not valid (altered or incomplete): nothing was changed');
    const who = { subject, ip: req.ip, userAgent: req.headers['user-agent'] };
    const now = ctx.clock();
    const { action } = req.body;
    if (action === 'unsubscribe') await unsubscribeContact(ctx.app, { ...who, source: 'page' }, now);
    else if (action === 'resubscribe') await resubscribeContact(ctx.app, who, now);
    else {
      const subscribed = req.body.topics === undefined ? [] : [req.body.topics].flat();
      await saveTopicPreferences(ctx.app, { ...who, topics: ctx.topics, subscribed }, now);
    }
    return show(subject, reply, NOTICES[action]);
  });

  async function show(subject: LinkSubject, reply: Parameters<typeof sendPage>[0], notice?: string) {
    const prefs = await subscriptionPreferences(ctx.read, subject, ctx.topics);
    return prefs ? sendPage(reply, 200, preferencesPage(prefs, notice)) : sendPage(reply, 200, unknownContactPage());
  }
};
