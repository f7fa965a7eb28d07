import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/app/context.js';
import { sendDigests } from '../../src/app/send-digests.js';
import type { TeamDirectory } from '../../src/staff/directory.js';
import { parseTeamDirectory } from '../../src/staff/team-file.js';
import type { MailSender, OutgoingMail } from '../../src/templates/mail-sender.js';
import { TransientSendError } from '../../src/templates/mail-sender.js';
import { appContextFor, createTestDeps } from '../support/engine.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Daily digests against real PostgreSQL, with a fake clock walking one day across three zones. */

const TEAM = `
zone: America/New_York
hours: { weekdays: "09:00-17:00" }
teams:
  sales: {}
  office: {}
users:
  bob@example.com: { name: Bob Rivera, teams: [sales] }
  dana@example.com: { name: Dana Kim, zone: America/Los_Angeles, hours: { weekdays: "08:00-12:00, 13:00-17:00" }, teams: [sales] }
  ute@example.com: { name: Ute Berg, zone: Europe/Berlin, hours: { weekdays: "08:00-16:00" }, teams: [office] }
  zoe@example.com: { name: Zoe Park, teams: [office] }
`;

const utc = (iso: string) => DateTime.fromISO(iso, { zone: 'utc' });
const at = (iso: string) => new Date(iso);

function fakeMail() {
  const sent: OutgoingMail[] = [];
  let failNext = 0;
  const mail: MailSender = {
    async send(m) {
      if (failNext > 0) {
        failNext--;
        throw new TransientSendError('421 try again later');
      }
      sent.push(m);
      return { messageId: m.messageId, accepted: true, response: '250 ok' };
    },
    close: async () => {},
    describe: () => 'fake',
  };
  return { mail, sent, failOnce: () => (failNext = 1) };
}

describe('staff digests', () => {
  let store: TestStore;
  let ctx: AppContext;
  let templatesDir: string;
  const ids: Record<string, number> = {};

  async function task(name: string, o: { assignee?: string; team?: string; due: string; status?: 'open' | 'done'; snoozedUntil?: string }) {
    const contact = await store.db
      .insertInto('contacts')
      .values({ email: `${name}@leads.example`, attributes: '{}', tags: '[]', first_name: name })
      .returning('id')
      .executeTakeFirstOrThrow();
    const r = await store.db
      .insertInto('tasks')
      .values({
        contact_id: contact.id,
        kind: 'call',
        priority: 'normal',
        status: o.status ?? 'open',
        title: `Call ${name}`,
        history: '[]',
        phone: '+15555550100',
        due_at: at(o.due),
        assignee: o.assignee ?? null,
        team: o.team ?? null,
        snoozed_until: o.snoozedUntil ? at(o.snoozedUntil) : null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    ids[name] = r.id;
  }

  const digests = () => store.db.selectFrom('staff_digests').selectAll().orderBy('sent_at').orderBy('email').execute();

  beforeAll(async () => {
    store = await createTestStore('postgres');
    templatesDir = await mkdtemp(path.join(tmpdir(), 'nurture-digest-tpl-'));
    const { deps } = await createTestDeps(store.db, [], templatesDir);
    const parsed = parseTeamDirectory(TEAM, 'team.yaml');
    if (!parsed.ok || !parsed.value) throw new Error(`team.yaml: ${JSON.stringify(parsed)}`);
    const staff: TeamDirectory = parsed.value;
    ctx = { ...appContextFor({ ...deps, config: { ...deps.config, from: 'Nurture <nurture@mail.example.com>' } }), staff };

    // Thursday 3 December 2026.
    await task('overdue', { assignee: 'bob@example.com', due: '2026-12-01T15:00:00Z' });
    await task('today', { assignee: 'bob@example.com', due: '2026-12-03T16:00:00Z' }); // 11:00 New York
    await task('late-today', { assignee: 'bob@example.com', due: '2026-12-04T04:30:00Z' }); // 23:30 New York: still today
    await task('tomorrow', { assignee: 'bob@example.com', due: '2026-12-04T15:00:00Z' });
    await task('snoozed', { assignee: 'bob@example.com', due: '2026-12-03T15:00:00Z', snoozedUntil: '2026-12-05T14:00:00Z' });
    await task('done', { assignee: 'bob@example.com', due: '2026-12-03T15:00:00Z', status: 'done' });
    await task('queue', { team: 'sales', due: '2026-12-03T18:00:00Z' }); // unclaimed: Bob's and Dana's
    await task('danas', { assignee: 'dana@example.com', due: '2026-12-03T20:00:00Z' });
    await task('office', { team: 'office', due: '2026-12-03T12:00:00Z' });
  });

  afterAll(async () => {
    await store?.cleanup();
    if (templatesDir) await rm(templatesDir, { recursive: true, force: true });
  });

  it("sends each user one digest at the start of their working day in their zone, with their due, overdue and teams' unclaimed tasks", async () => {
    const { mail, sent } = fakeMail();
    const round = async (iso: string) => {
      const before = sent.length;
      await sendDigests(ctx, mail, utc(iso));
      return sent.slice(before).map((m) => m.to);
    };

    expect(await round('2026-12-03T06:59:00Z')).toEqual([]); // 07:59 in Berlin
    expect(await round('2026-12-03T07:00:00Z')).toEqual(['ute@example.com']); // 08:00 in Berlin
    expect(await round('2026-12-03T07:00:30Z')).toEqual([]);
    expect(await round('2026-12-03T13:59:00Z')).toEqual([]); // 08:59 in New York
    // 09:00 in New York: Bob and Zoe; Zoe's queue is Ute's too, and Ute had hers already.
    expect(await round('2026-12-03T14:00:00Z')).toEqual(['bob@example.com', 'zoe@example.com']);
    expect(await round('2026-12-03T15:59:00Z')).toEqual([]); // 07:59 in Los Angeles
    expect(await round('2026-12-03T16:00:00Z')).toEqual(['dana@example.com']);
    expect(await round('2026-12-03T21:30:00Z')).toEqual([]); // Dana's lunch, Bob's afternoon: all sent already

    const bob = sent.find((m) => m.to === 'bob@example.com')!;
    expect(bob.from).toBe('Nurture <nurture@mail.example.com>');
    expect(bob.subject).toBe('Your tasks for Thursday 3 December: 1 overdue, 3 due today');
    expect(bob.text).toContain('Good morning Bob Rivera,');
    for (const name of ['overdue', 'today', 'late-today', 'queue']) expect(bob.text).toContain(`#${ids[name]} call`);
    for (const name of ['tomorrow', 'snoozed', 'done', 'danas', 'office']) expect(bob.text).not.toContain(`#${ids[name]} `);
    expect(bob.text).toMatch(new RegExp(`Overdue \\(1\\)\\n  #${ids['overdue']} call Tue 1 Dec 10:00: Call overdue`));
    expect(bob.text).toContain(`#${ids['today']} call 11:00: Call today (today@leads.example, +15555550100)`);
    expect(bob.text).toContain(`#${ids['queue']} call 13:00: Call queue (queue@leads.example, +15555550100) [sales queue, unclaimed]`);
    expect(bob.html).toContain('<h3>Overdue (1)</h3>');
    expect(bob.messageId).toMatch(/^digest-2026-12-03-[0-9a-f]{16}@mail\.example\.com$/);

    const dana = sent.find((m) => m.to === 'dana@example.com')!;
    expect(dana.text).toContain(`#${ids['danas']} call 12:00: Call danas`);
    expect(dana.text).toContain(`#${ids['queue']} call 10:00: Call queue`);
    expect(dana.text).not.toContain(`#${ids['today']} `);
    expect(sent.find((m) => m.to === 'ute@example.com')!.text).toContain(`#${ids['office']} call 13:00: Call office`);

    expect((await digests()).map((d) => [d.email, d.local_date, d.tasks])).toEqual([
      ['ute@example.com', '2026-12-03', 1],
      ['bob@example.com', '2026-12-03', 4],
      ['zoe@example.com', '2026-12-03', 1],
      ['dana@example.com', '2026-12-03', 2],
    ]);
  });

  it('two processes running the same round send one digest per user', async () => {
    const a = fakeMail();
    const b = fakeMail();
    // Friday, 09:00 in New York.
    const now = utc('2026-12-04T14:00:00Z');
    const ctxB: AppContext = { ...ctx };
    await Promise.all([sendDigests(ctx, a.mail, now), sendDigests(ctxB, b.mail, now), sendDigests(ctx, a.mail, now)]);
    const to = [...a.sent, ...b.sent].map((m) => m.to).sort();
    expect(to).toEqual(['bob@example.com', 'ute@example.com', 'zoe@example.com']);
    expect((await digests()).filter((d) => d.local_date === '2026-12-04').map((d) => d.email).sort()).toEqual(['bob@example.com', 'ute@example.com', 'zoe@example.com']);
  });

  it('a send that fails for now leaves no record, and the next round sends it; a day off has none', async () => {
    const { mail, sent, failOnce } = fakeMail();
    failOnce();
    const now = utc('2026-12-04T16:00:00Z'); // Friday 08:00 in Los Angeles
    expect(await sendDigests(ctx, mail, now)).toEqual([]);
    expect(sent).toEqual([]);
    expect((await digests()).some((d) => d.email === 'dana@example.com' && d.local_date === '2026-12-04')).toBe(false);
    expect(await sendDigests(ctx, mail, now.plus({ seconds: 30 }))).toEqual([{ email: 'dana@example.com', localDate: '2026-12-04', status: 'sent', tasks: 2 }]);
    expect(sent.map((m) => m.to)).toEqual(['dana@example.com']);

    expect(await sendDigests(ctx, mail, utc('2026-12-05T15:00:00Z'))).toEqual([]); // Saturday
  });

  it('without a team directory nothing is sent', async () => {
    const { mail, sent } = fakeMail();
    expect(await sendDigests({ ...ctx, staff: undefined }, mail, utc('2026-12-07T14:00:00Z'))).toEqual([]);
    expect(sent).toEqual([]);
  });
});
