import { z } from 'zod';
import { staffCalendarUser } from '../../app/staff-calendar-url.js';
import { openCallsOf, staffAccountDisabled } from '../../queries/staff-calendar.js';
import { calendarFeed } from '../../staff/staff-calendar.js';
import type { RouteModule } from '../server.js';

const params = z.object({ token: z.string().min(1).max(1024) });

/**
 * `/ics/TOKEN.ics`: a staff user's open calls as a calendar feed (signed, purpose
 * `staff_calendar`; `nurture ics-url EMAIL` prints it). Anything but a good token for a user
 * of the team directory whose account is not disabled is a plain 404: the answer says nothing about which part was wrong.
 */
export const icsRoutes: RouteModule = (server, ctx) => {
  server.get('/ics/:token', { schema: { params }, config: { rateLimit: { max: 60, timeWindow: '1 minute' } } }, async (req, reply) => {
    const user = staffCalendarUser(ctx.links, ctx.app.staff, req.params.token);
    if (!user || (await staffAccountDisabled(ctx.read, user.email))) return reply.code(404).type('text/plain; charset=utf-8').send('not found\n');
    const feed = calendarFeed(user, await openCallsOf(ctx.read, user.email), ctx.clock());
    return reply
      .code(200)
      .header('cache-control', 'private, max-age=300')
      .header('content-disposition', 'inline; filename="nurture-calls.ics"')
      .type('text/calendar; charset=utf-8')
      .send(feed);
  });
};
