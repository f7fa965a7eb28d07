import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staffCalendarUrl } from '../../src/app/staff-calendar-url.js';
import type { HttpContext } from '../../src/http/context.js';
import { icsRoutes } from '../../src/http/routes/ics.js';
import type { NurtureServer } from '../../src/http/server.js';
import { buildServer } from '../../src/http/server.js';
import { createLogger } from '../../src/logger.js';
import { MessageLinks } from '../../src/security/message-links.js';
import type { TeamDirectory } from '../../src/staff/directory.js';
import { parseTeamDirectory } from '../../src/staff/team-file.js';
import { testConfig } from '../support/engine.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';

/** GET /ics/TOKEN.ics against real PostgreSQL: a user's open calls as events; anything else a 404. */

const TEAM = `
zone: America/New_York
teams: { sales: {} }
users:
  bob@example.com: { name: Bob Rivera, teams: [sales] }
  dana@example.com: { name: Dana Kim, zone: America/Los_Angeles, teams: [sales] }
`;
const NOW = DateTime.fromISO('2026-12-03T14:00:00Z', { zone: 'utc' });

describe('staff calendar feed', () => {
  let store: TestStore;
  let server: NurtureServer;
  let links: MessageLinks;
  let staff: TeamDirectory;
  const ids: Record<string, number> = {};

  async function task(name: string, o: { kind?: 'call' | 'postcard'; assignee: string | null; due: string; status?: 'open' | 'done'; priority?: 'high' }) {
    const c = await store.db.insertInto('contacts').values({ email: `${name}@leads.example`, first_name: name, last_name: 'Lead', attributes: '{}', tags: '[]' }).returning('id').executeTakeFirstOrThrow();
    const r = await store.db
      .insertInto('tasks')
      .values({
        contact_id: c.id,
        kind: o.kind ?? 'call',
        priority: o.priority ?? 'normal',
        status: o.status ?? 'open',
        title: `Call ${name}`,
        note: 'Asked about pricing',
        history: '[]',
        phone: '+15555550123',
        due_at: new Date(o.due),
        assignee: o.assignee,
        team: 'sales',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    ids[name] = r.id;
  }

  const path = (url: string) => new URL(url).pathname;

  beforeAll(async () => {
    store = await createTestStore('postgres');
    const config = testConfig();
    links = new MessageLinks(config);
    const parsed = parseTeamDirectory(TEAM, 'team.yaml');
    if (!parsed.ok || !parsed.value) throw new Error('team.yaml');
    staff = parsed.value;
    const ctx = {
      app: { deps: { db: store.db, config }, log: createLogger('silent'), staff },
      read: store.db,
      config,
      links,
      clock: () => NOW,
    } as unknown as HttpContext;
    server = await buildServer(ctx, { routes: [icsRoutes] });
    await task('ann', { assignee: 'bob@example.com', due: '2026-12-03T15:00:00Z', priority: 'high' });
    await task('cal', { assignee: 'bob@example.com', due: '2026-12-04T16:30:00Z' });
    await task('done', { assignee: 'bob@example.com', due: '2026-12-03T15:00:00Z', status: 'done' });
    await task('card', { kind: 'postcard', assignee: 'bob@example.com', due: '2026-12-03T15:00:00Z' });
    await task('queue', { assignee: null, due: '2026-12-03T15:00:00Z' });
    await task('dans', { assignee: 'dana@example.com', due: '2026-12-03T18:00:00Z' });
  });

  afterAll(async () => {
    await server?.close();
    await store?.cleanup();
  });

  it("serves the user's open calls as 15-minute events, and nothing of anyone else's", async () => {
    const url = staffCalendarUrl(links, staff, 'Bob@Example.com');
    expect(url).toMatch(/\/ics\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.ics$/);
    const res = await server.inject({ method: 'GET', url: path(url) });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/calendar; charset=utf-8');
    const body = res.body.replace(/\r\n[ \t]/g, ''); // unfold long lines
    expect(body).toMatch(/^BEGIN:VCALENDAR\r\n/);
    expect(body).toContain('X-WR-CALNAME:Nurture calls: Bob Rivera');
    const events = body.split('BEGIN:VEVENT').slice(1);
    expect(events).toHaveLength(2);
    expect(events.map((e) => /UID:(.*)\r\n/.exec(e)?.[1])).toEqual([`nurture-task-${ids['ann']}`, `nurture-task-${ids['cal']}`]);
    const [ann, cal] = events as [string, string];
    expect(ann).toContain('SUMMARY:[HIGH] Call ann');
    expect(ann).toMatch(/DTSTART:20261203T150000Z\r\n/);
    expect(ann).toMatch(/DTEND:20261203T151500Z\r\n/);
    expect(ann).toMatch(/DTSTAMP:20261203T140000Z\r\n/);
    expect(ann).toContain('DESCRIPTION:Task #' + ids['ann'] + ': call ann Lead <ann@leads.example>\\nPhone: +15555550123\\nAsked about pricing');
    expect(cal).toContain('SUMMARY:Call cal');
    for (const other of ['done', 'card', 'queue', 'dans']) expect(body).not.toContain(`nurture-task-${ids[other]}\r\n`);

    // Dana's feed is hers.
    const dana = await server.inject({ method: 'GET', url: path(staffCalendarUrl(links, staff, 'dana@example.com')) });
    expect(dana.statusCode).toBe(200);
    expect(dana.body).toContain(`UID:nurture-task-${ids['dans']}`);
    expect(dana.body).toMatch(/DTSTART:20261203T180000Z/);
    expect(dana.body).not.toContain(`nurture-task-${ids['ann']}`);
  });

  it('a bad, altered or wrong-purpose token, or a user not in the directory, is a 404', async () => {
    const good = path(staffCalendarUrl(links, staff, 'bob@example.com'));
    const token = good.slice('/ics/'.length, -'.ics'.length);
    const [payload, mac] = token.split('.') as [string, string];
    const dana = Buffer.from('dana@example.com').toString('base64url');
    const cases = [
      '/ics/nonsense',
      `/ics/${payload}.${mac.slice(0, -2)}AA.ics`,
      `/ics/${dana}.${mac}.ics`, // Bob's MAC on Dana's email
      `/ics/${links.signer.sign('view', 'bob@example.com')}.ics`,
      `/ics/${links.signer.sign('staff_calendar', 'gone@example.com')}.ics`,
    ];
    for (const url of cases) {
      const res = await server.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.body).not.toContain('VCALENDAR');
    }
    // Without the .ics suffix the same token works (some calendar apps strip it).
    expect((await server.inject({ method: 'GET', url: `/ics/${token}` })).statusCode).toBe(200);
  });

  it('a disabled account gets no feed: users disable ends it, enable brings it back', async () => {
    const url = path(staffCalendarUrl(links, staff, 'bob@example.com'));
    expect((await server.inject({ method: 'GET', url })).statusCode).toBe(200);
    await store.db.insertInto('staff_accounts').values({ email: 'bob@example.com', password_hash: '$argon2id$v=19$m=8,t=1,p=1$x$y', disabled_at: new Date('2026-12-03T13:00:00Z') }).execute();
    const off = await server.inject({ method: 'GET', url });
    expect(off.statusCode).toBe(404);
    expect(off.body).not.toContain('VCALENDAR');
    await store.db.updateTable('staff_accounts').set({ disabled_at: null }).where('email', '=', 'bob@example.com').execute();
    expect((await server.inject({ method: 'GET', url })).statusCode).toBe(200);
  });
});
