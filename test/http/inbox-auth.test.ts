import { rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpContext } from '../../src/http/context.js';
import { inboxRoutes } from '../../src/http/inbox/routes.js';
import type { NurtureServer } from '../../src/http/server.js';
import { buildServer } from '../../src/http/server.js';
import { appContextFor, createTestDeps, testConfig, writeTemplates } from '../support/engine.js';
import { INBOX_PASSWORD, INBOX_TEAM_YAML, cookieHeader, cookieJar, csrfOf, inboxDirectory, seedContact, seedStaffAccount, seedTask } from '../support/inbox.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';

const NOW = DateTime.fromISO('2026-12-24T00:00:00Z', { zone: 'utc' });

interface Login {
  cookie: string;
  csrf: string;
}

/**
 * The inbox's gate, through fastify.inject: login, the session cookie, CSRF on every POST, and
 * every route tried as a user who must not see the task.
 */
describe('task inbox: who may see and change what', () => {
  let store: TestStore;
  let templatesDir: string;
  let server: NurtureServer;
  let ids: { bobCall: number; salesQueued: number; danaCall: number; officePostcard: number; bobLetter: number };

  async function build(env: Record<string, string> = {}, teamYaml = INBOX_TEAM_YAML): Promise<NurtureServer> {
    const { deps } = await createTestDeps(store.db, [], templatesDir);
    const config = testConfig({ NURTURE_INBOX_LOGIN_RATE_LIMIT: '5', ...env });
    // Only what the inbox routes use: they reach the store through the app and the read models.
    const ctx = { app: { ...appContextFor(deps), staff: inboxDirectory(teamYaml) }, read: store.db, config, links: deps.links, clock: () => NOW } as unknown as HttpContext;
    return buildServer(ctx, { routes: [inboxRoutes] });
  }

  let logins = 0;
  // Each login from its own address: the limit of login attempts per address is tested on its own.
  async function login(email: string, ip = `10.1.0.${++logins}`): Promise<Login> {
    const form = await server.inject({ method: 'GET', url: '/inbox/login', remoteAddress: ip });
    const jar = cookieJar(form.headers['set-cookie']);
    const res = await server.inject({
      method: 'POST',
      url: '/inbox/login',
      remoteAddress: ip,
      headers: { cookie: cookieHeader(jar), 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ _csrf: csrfOf(form.body), email, password: INBOX_PASSWORD }).toString(),
    });
    expect(res.statusCode, res.body).toBe(303);
    const cookie = cookieHeader(cookieJar(res.headers['set-cookie']));
    const page = await server.inject({ method: 'GET', url: '/inbox', headers: { cookie } });
    expect(page.statusCode).toBe(200);
    return { cookie, csrf: csrfOf(page.body) };
  }

  const post = (who: Login | undefined, url: string, form: Record<string, string>) =>
    server.inject({
      method: 'POST',
      url,
      headers: { ...(who ? { cookie: who.cookie } : {}), 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(form).toString(),
    });
  const get = (who: Login | undefined, url: string) => server.inject({ method: 'GET', url, headers: who ? { cookie: who.cookie } : {} });
  const taskRow = (id: number) => store.db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  beforeAll(async () => {
    store = await createTestStore('postgres');
    templatesDir = await writeTemplates();
    for (const u of ['bob@example.com', 'dana@example.com', 'carol@example.com', 'olive@example.com']) await seedStaffAccount(store.db, u);
    const ann = await seedContact(store.db, { email: 'ann@example.com', first: 'Ann', last: 'Lee', phone: '+1 (555) 010-2000' });
    const cal = await seedContact(store.db, { email: 'cal@example.com', first: 'Cal' });
    const dee = await seedContact(store.db, { email: 'dee@example.com', first: 'Dee', address: { line1: '1 Main St', city: 'Springfield' } });
    ids = {
      bobCall: await seedTask(store.db, { contactId: ann, title: 'Call Ann about the quote', assignee: 'bob@example.com', team: 'sales', slaDueAt: NOW.plus({ minutes: 4 }).toJSDate() }),
      salesQueued: await seedTask(store.db, { contactId: cal, title: 'Call Cal back', team: 'sales', slaDueAt: NOW.plus({ minutes: 2 }).toJSDate() }),
      danaCall: await seedTask(store.db, { contactId: cal, title: "Dana's own call", assignee: 'dana@example.com', team: 'sales' }),
      officePostcard: await seedTask(store.db, { contactId: dee, kind: 'postcard', title: 'Postcard to Dee', team: 'office' }),
      bobLetter: await seedTask(store.db, { contactId: dee, kind: 'letter', title: 'Letter to Dee', assignee: 'bob@example.com', team: 'sales' }),
    };
    server = await build();
  });

  afterAll(async () => {
    await server?.close();
    await store?.cleanup();
    await rm(templatesDir, { recursive: true, force: true });
  });

  it('sends people without a session to the login page, and refuses a wrong password or a login form without its token', async () => {
    const page = await get(undefined, '/inbox');
    expect(page.statusCode).toBe(303);
    expect(page.headers.location).toBe('/inbox/login');
    for (const url of [`/inbox/tasks/${ids.bobCall}`, '/inbox/queue-items']) expect((await get(undefined, url)).statusCode, url).toBe(303);
    expect((await get(undefined, '/inbox/events')).statusCode).toBe(401);

    const form = await server.inject({ method: 'GET', url: '/inbox/login', remoteAddress: '10.0.0.2' });
    expect(form.statusCode).toBe(200);
    expect(form.headers['content-security-policy']).toContain("script-src 'self'");
    const jar = cookieJar(form.headers['set-cookie']);
    const attempt = (fields: Record<string, string>, cookie = cookieHeader(jar)) =>
      server.inject({ method: 'POST', url: '/inbox/login', remoteAddress: '10.0.0.2', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(fields).toString() });
    const wrong = await attempt({ _csrf: csrfOf(form.body), email: 'bob@example.com', password: 'not the password' });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.body).toContain('do not match');
    expect(wrong.headers['set-cookie']?.toString() ?? '').not.toContain('nurture_inbox=');
    const unknown = await attempt({ _csrf: csrfOf(form.body), email: 'mallory@example.com', password: INBOX_PASSWORD });
    expect(unknown.statusCode).toBe(401);
    const noToken = await attempt({ email: 'bob@example.com', password: INBOX_PASSWORD });
    expect(noToken.statusCode).toBe(403);
    const noCookie = await attempt({ _csrf: csrfOf(form.body), email: 'bob@example.com', password: INBOX_PASSWORD }, '');
    expect(noCookie.statusCode).toBe(403);
  });

  it('sets an HttpOnly, SameSite=Lax session cookie scoped to /inbox, stored only as a hash, Secure when the public URL is https', async () => {
    const form = await server.inject({ method: 'GET', url: '/inbox/login', remoteAddress: '10.0.0.3' });
    const res = await server.inject({
      method: 'POST',
      url: '/inbox/login',
      remoteAddress: '10.0.0.3',
      headers: { cookie: cookieHeader(cookieJar(form.headers['set-cookie'])), 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ _csrf: csrfOf(form.body), email: 'Bob@Example.com', password: INBOX_PASSWORD }).toString(),
    });
    const set = [res.headers['set-cookie']].flat().find((c) => c?.startsWith('nurture_inbox='))!;
    expect(set).toMatch(/HttpOnly/i);
    expect(set).toMatch(/SameSite=Lax/i);
    expect(set).toMatch(/Path=\/inbox/);
    expect(set).not.toMatch(/Secure/i);
    const token = /^nurture_inbox=([^;]+)/.exec(set)![1]!;
    const rows = await store.db.selectFrom('staff_sessions').select(['token_hash', 'email']).execute();
    expect(rows.some((r) => r.token_hash === token)).toBe(false);
    expect(rows.map((r) => r.email)).toContain('bob@example.com');

    const https = await build({ NURTURE_PUBLIC_URL: 'https://nurture.example.com' });
    try {
      const f = await https.inject({ method: 'GET', url: '/inbox/login' });
      expect([f.headers['set-cookie']].flat().join('\n')).toMatch(/Secure/i);
    } finally {
      await https.close();
    }
  });

  it("shows a user their own tasks and their teams' unclaimed ones, soonest SLA first; a manager sees the whole team", async () => {
    const bob = await login('bob@example.com');
    const items = await get(bob, '/inbox/queue-items');
    const shown = [...items.body.matchAll(/data-task-id="(\d+)"/g)].map((m) => Number(m[1]));
    expect(shown).toEqual([ids.salesQueued, ids.bobCall, ids.bobLetter]);
    expect(items.body).toContain('class="countdown"');
    expect(items.body).toContain(`action="/inbox/tasks/${ids.salesQueued}/claim"`);
    const olive = await login('olive@example.com');
    const oliveShown = [...(await get(olive, '/inbox')).body.matchAll(/data-task-id="(\d+)"/g)].map((m) => Number(m[1]));
    expect(oliveShown).toEqual([ids.officePostcard]);
    const carol = await login('carol@example.com');
    const carolShown = [...(await get(carol, '/inbox')).body.matchAll(/data-task-id="(\d+)"/g)].map((m) => Number(m[1]));
    expect(carolShown.sort()).toEqual([ids.bobCall, ids.salesQueued, ids.danaCall, ids.bobLetter].sort());
  });

  it("answers 404 on every task route to a user who may not see the task, and changes nothing", async () => {
    const olive = await login('olive@example.com');
    const dana = await login('dana@example.com');
    const before = await taskRow(ids.bobCall);
    for (const who of [olive, dana]) {
      expect((await get(who, `/inbox/tasks/${ids.bobCall}`)).statusCode).toBe(404);
      expect((await post(who, `/inbox/tasks/${ids.bobCall}/claim`, { _csrf: who.csrf })).statusCode).toBe(404);
      expect((await post(who, `/inbox/tasks/${ids.bobCall}/outcome`, { _csrf: who.csrf, outcome: 'connected' })).statusCode).toBe(404);
      expect((await get(who, '/inbox/queue-items')).body).not.toContain(`data-task-id="${ids.bobCall}"`);
    }
    // Another team's queue is not claimable, nor completable, nor readable.
    expect((await get(olive, `/inbox/tasks/${ids.salesQueued}`)).statusCode).toBe(404);
    expect((await post(olive, `/inbox/tasks/${ids.salesQueued}/claim`, { _csrf: olive.csrf })).statusCode).toBe(404);
    expect((await post(olive, `/inbox/tasks/${ids.salesQueued}/outcome`, { _csrf: olive.csrf, outcome: 'connected' })).statusCode).toBe(404);
    const bob = await login('bob@example.com');
    expect((await get(bob, `/inbox/tasks/${ids.officePostcard}`)).statusCode).toBe(404);
    expect((await post(bob, `/inbox/tasks/${ids.officePostcard}/outcome`, { _csrf: bob.csrf, outcome: 'sent' })).statusCode).toBe(404);
    // No such task looks the same as someone else's.
    expect((await get(bob, '/inbox/tasks/999999')).statusCode).toBe(404);
    expect(await taskRow(ids.bobCall)).toEqual(before);
    expect((await taskRow(ids.salesQueued)).assignee).toBeNull();
    expect((await taskRow(ids.officePostcard)).status).toBe('open');
  });

  it('refuses every POST without the session CSRF token, with a wrong one, or with another session’s', async () => {
    const bob = await login('bob@example.com');
    const olive = await login('olive@example.com');
    for (const url of [`/inbox/tasks/${ids.bobLetter}/outcome`, `/inbox/tasks/${ids.salesQueued}/claim`, '/inbox/logout']) {
      for (const token of [undefined, 'wrong-token', olive.csrf]) {
        const res = await post(bob, url, { ...(token ? { _csrf: token } : {}), outcome: 'sent' });
        expect(res.statusCode, `${url} with ${token}`).toBe(403);
      }
      // No session at all, with a token that was good: still refused.
      expect((await post(undefined, url, { _csrf: bob.csrf, outcome: 'sent' })).statusCode).toBe(403);
    }
    expect((await taskRow(ids.bobLetter)).status).toBe('open');
    expect((await taskRow(ids.salesQueued)).assignee).toBeNull();
    expect((await get(bob, '/inbox')).statusCode).toBe(200);
  });

  it('lets a user claim a team task (then it is theirs alone) and record only declared outcomes', async () => {
    const bob = await login('bob@example.com');
    const dana = await login('dana@example.com');
    const claimed = await post(bob, `/inbox/tasks/${ids.salesQueued}/claim`, { _csrf: bob.csrf });
    expect(claimed.statusCode).toBe(303);
    const row = await taskRow(ids.salesQueued);
    // Worded as a claim from the CLI (nurture tasks claim), the inbox named in the detail.
    expect(row).toMatchObject({ assignee: 'bob@example.com', claimed_at: NOW.toJSDate(), assignment_reason: "claimed from team sales's queue" });
    const activity = await store.db.selectFrom('task_activity').selectAll().where('task_id', '=', ids.salesQueued).execute();
    expect(activity.map((a) => [a.actor, a.action, a.reason, a.detail])).toEqual([['bob@example.com', 'claimed', "claimed from team sales's queue", { team: 'sales', via: 'inbox' }]]);
    expect((await get(dana, `/inbox/tasks/${ids.salesQueued}`)).statusCode).toBe(404);
    expect((await post(dana, `/inbox/tasks/${ids.salesQueued}/claim`, { _csrf: dana.csrf })).statusCode).toBe(404);

    const undeclared = await post(bob, `/inbox/tasks/${ids.bobLetter}/outcome`, { _csrf: bob.csrf, outcome: 'appointment_booked' });
    expect(undeclared.statusCode).toBe(400);
    expect(undeclared.body).toContain('not an outcome of a letter task');
    const page = await get(bob, `/inbox/tasks/${ids.bobLetter}`);
    for (const o of ['sent', 'returned']) expect(page.body).toContain(`name="outcome" value="${o}"`);
    expect(page.body).not.toContain('value="no_answer"');
    const call = await get(bob, `/inbox/tasks/${ids.bobCall}`);
    for (const o of ['connected', 'no_answer', 'left_voicemail', 'appointment_booked', 'not_interested', 'wrong_number']) expect(call.body).toContain(`name="outcome" value="${o}"`);
    expect(call.body).toContain('href="tel:+15550102000"');
  });

  it("lets a team's manager who is not in the team record the outcome of a task still in its queue, without claiming it", async () => {
    // Carol manages office without being in it: she sees its queue but may not claim from it.
    const yaml = INBOX_TEAM_YAML.replace('  office: {}', '  office:\n    manager: carol@example.com');
    const eve = await seedContact(store.db, { email: 'eve@example.com', first: 'Eve', address: { line1: '2 Main St', city: 'Springfield' } });
    const queued = await seedTask(store.db, { contactId: eve, kind: 'postcard', title: 'Postcard to Eve', team: 'office' });
    const main = server;
    server = await build({}, yaml);
    try {
      const carol = await login('carol@example.com');
      expect((await get(carol, '/inbox/queue-items')).body).toContain(`data-task-id="${queued}"`);
      const res = await post(carol, `/inbox/tasks/${queued}/outcome`, { _csrf: carol.csrf, outcome: 'sent' });
      expect(res.statusCode, res.body).toBe(303);
      expect(await taskRow(queued)).toMatchObject({ status: 'done', outcome: 'sent', assignee: null, team: 'office', claimed_at: null });
      const activity = await store.db.selectFrom('task_activity').select(['actor', 'action']).where('task_id', '=', queued).orderBy('id').execute();
      expect(activity.map((a) => [a.actor, a.action])).toEqual([['carol@example.com', 'completed']]);
      // Bob manages nothing in office and is not in it: still not found for him.
      const bob = await login('bob@example.com');
      expect((await post(bob, `/inbox/tasks/${queued}/outcome`, { _csrf: bob.csrf, outcome: 'sent' })).statusCode).toBe(404);
    } finally {
      await server.close();
      server = main;
    }
  });

  it('completes a call with appointment_booked: the contact is promoted and the page says so', async () => {
    const bob = await login('bob@example.com');
    const res = await post(bob, `/inbox/tasks/${ids.bobCall}/outcome`, { _csrf: bob.csrf, outcome: 'appointment_booked' });
    expect(res.statusCode, res.body).toBe(303);
    expect(res.headers.location).toBe(`/inbox/tasks/${ids.bobCall}?recorded=appointment_booked`);
    expect(await taskRow(ids.bobCall)).toMatchObject({ status: 'done', outcome: 'appointment_booked' });
    const page = await get(bob, String(res.headers.location));
    expect(page.body).toContain('data-stage="lead"');
    expect(page.body).toContain('data-outcome="appointment_booked"');
    const ann = await store.db.selectFrom('contacts').select('status').where('email', '=', 'ann@example.com').executeTakeFirstOrThrow();
    expect(ann.status).toBe('lead');
  });

  it('escapes what contacts and tasks say about themselves', async () => {
    const evil = await seedContact(store.db, { email: 'evil@example.com', first: '<img src=x onerror=alert(1)>', phone: '"><script>x()</script>' });
    const id = await seedTask(store.db, { contactId: evil, title: '</li><script>alert(2)</script>', assignee: 'bob@example.com', team: 'sales', note: '<b>bold</b>' });
    const bob = await login('bob@example.com');
    for (const body of [(await get(bob, '/inbox')).body, (await get(bob, `/inbox/tasks/${id}`)).body]) {
      expect(body).not.toContain('<img src=x');
      expect(body).not.toContain('<script>alert');
      expect(body).toContain('&lt;script&gt;alert(2)&lt;/script&gt;');
    }
    const page = (await get(bob, `/inbox/tasks/${id}`)).body;
    expect(page).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(page).not.toContain('<script>x()');
    expect(page).toContain('&lt;b&gt;bold&lt;/b&gt;');
    await store.db.updateTable('tasks').set({ status: 'cancelled' }).where('id', '=', id).execute();
  });

  it('logs out: the session is gone, its cookie opens nothing', async () => {
    const dana = await login('dana@example.com');
    const out = await post(dana, '/inbox/logout', { _csrf: dana.csrf });
    expect(out.statusCode).toBe(303);
    expect((await get(dana, '/inbox')).statusCode).toBe(303);
    expect((await post(dana, `/inbox/tasks/${ids.danaCall}/claim`, { _csrf: dana.csrf })).statusCode).toBe(403);
  });

  it('limits login attempts per client address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await server.inject({ method: 'POST', url: '/inbox/login', remoteAddress: '10.9.9.9', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'email=a%40b.c&password=x' });
      statuses.push(res.statusCode);
    }
    expect(statuses.slice(0, 5)).toEqual([403, 403, 403, 403, 403]);
    expect(statuses.slice(5)).toEqual([429, 429]);
  });

  it('streams new tasks a user may see, and none they may not', async () => {
    await server.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
    const bob = await login('bob@example.com');
    const olive = await login('olive@example.com');
    const last = Number((await store.db.selectFrom('tasks').select((eb) => eb.fn.max('id').as('m')).executeTakeFirstOrThrow()).m);
    const open = async (who: Login) => {
      const ac = new AbortController();
      const res = await fetch(`${base}/inbox/events?after=${last}`, { headers: { cookie: who.cookie }, signal: ac.signal });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const reader = res.body!.getReader();
      let buf = '';
      return {
        /** The ids of `task` events, until `n` of them came. */
        async tasks(n: number): Promise<number[]> {
          const got: number[] = [];
          while (got.length < n) {
            const { value, done } = await reader.read();
            if (done) throw new Error('stream ended');
            buf += Buffer.from(value).toString('utf8');
            let end: number;
            while ((end = buf.indexOf('\n\n')) >= 0) {
              const block = buf.slice(0, end);
              buf = buf.slice(end + 2);
              if (block.includes('event: task')) got.push(Number(/^id: (\d+)$/m.exec(block)![1]));
            }
          }
          return got;
        },
        close: () => ac.abort(),
      };
    };
    const bobStream = await open(bob);
    const oliveStream = await open(olive);
    try {
      const cal = (await store.db.selectFrom('contacts').select('id').where('email', '=', 'cal@example.com').executeTakeFirstOrThrow()).id;
      const forSales = await seedTask(store.db, { contactId: cal, title: 'New lead call', team: 'sales', priority: 'high', slaDueAt: NOW.plus({ minutes: 5 }).toJSDate() });
      const forOffice = await seedTask(store.db, { contactId: cal, kind: 'letter', title: 'New letter', team: 'office' });
      const forBob = await seedTask(store.db, { contactId: cal, title: 'Bob only', assignee: 'bob@example.com', team: 'sales' });
      // Events come in id order: had Olive been sent the sales task, it would come before hers.
      expect(await oliveStream.tasks(1)).toEqual([forOffice]);
      expect(await bobStream.tasks(2)).toEqual([forSales, forBob]);
    } finally {
      bobStream.close();
      oliveStream.close();
    }
    // A backlog longer than a page, of tasks old enough for the cursor to move past: every one is sent, in order.
    const from = Number((await store.db.selectFrom('tasks').select((eb) => eb.fn.max('id').as('m')).executeTakeFirstOrThrow()).m);
    const cal = (await store.db.selectFrom('contacts').select('id').where('email', '=', 'cal@example.com').executeTakeFirstOrThrow()).id;
    const backlog: number[] = [];
    for (let i = 0; i < 120; i++) backlog.push(await seedTask(store.db, { contactId: cal, title: `Backlog ${i}`, team: i % 3 === 0 ? 'office' : 'sales' }));
    await store.db.updateTable('tasks').set({ created_at: new Date(Date.now() - 3_600_000) }).where('id', '>', from).execute();
    const ac = new AbortController();
    const res = await fetch(`${base}/inbox/events?after=${from}`, { headers: { cookie: bob.cookie }, signal: ac.signal });
    const reader = res.body!.getReader();
    let text = '';
    const want = backlog.filter((_, i) => i % 3 !== 0);
    try {
      while ([...text.matchAll(/^event: task$/gm)].length < want.length) text += Buffer.from((await reader.read()).value!).toString('utf8');
    } finally {
      ac.abort();
    }
    expect([...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))).toEqual(want);
    await store.db.updateTable('tasks').set({ status: 'cancelled' }).where('id', '>', from).execute();
  }, 30_000);
});
