import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staffCalendarUrl } from '../../src/app/staff-calendar-url.js';
import { createLogger } from '../../src/logger.js';
import type { TeamDirectory } from '../../src/staff/directory.js';
import { parseTeamDirectory } from '../../src/staff/team-file.js';
import type { MailSender, OutgoingMail } from '../../src/templates/mail-sender.js';
import type { RunningEngine } from '../../src/workers/runtime.js';
import { startEngine } from '../../src/workers/runtime.js';
import { eventually, testConfig } from '../support/engine.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';

/** The engine given a team directory: its sweeping process sends the digests, its server the calendar feeds. */

const TEAM = `
zone: America/New_York
hours: { weekdays: "09:00-17:00" }
teams: { sales: {} }
users:
  bob@example.com: { name: Bob Rivera, teams: [sales] }
`;
// Thursday 09:00:05 in New York: Bob's day has just started.
const NOW = DateTime.fromISO('2026-12-03T14:00:05Z', { zone: 'utc' });

describe('engine with a team directory', () => {
  let store: TestStore;
  let engine: RunningEngine | undefined;
  let templatesDir: string;
  let staff: TeamDirectory;
  const sent: OutgoingMail[] = [];
  const mail: MailSender = {
    async send(m) {
      sent.push(m);
      return { messageId: m.messageId, accepted: true, response: '250 ok' };
    },
    close: async () => {},
    describe: () => 'fake',
  };
  let taskId: number;

  beforeAll(async () => {
    store = await createTestStore('postgres');
    templatesDir = await mkdtemp(path.join(tmpdir(), 'nurture-staff-runtime-'));
    const parsed = parseTeamDirectory(TEAM, 'team.yaml');
    if (!parsed.ok || !parsed.value) throw new Error('team.yaml');
    staff = parsed.value;
    const c = await store.db.insertInto('contacts').values({ email: 'ann@leads.example', attributes: '{}', tags: '[]' }).returning('id').executeTakeFirstOrThrow();
    const t = await store.db
      .insertInto('tasks')
      .values({ contact_id: c.id, kind: 'call', priority: 'high', status: 'open', title: 'Call Ann', history: '[]', due_at: new Date('2026-12-03T14:30:00Z'), assignee: 'bob@example.com', assigned_at: new Date('2026-12-03T08:00:00Z') })
      .returning('id')
      .executeTakeFirstOrThrow();
    taskId = t.id;
    const config = testConfig();
    engine = await startEngine({
      config,
      templatesDir,
      sweeper: true,
      mayLaunchRedis: false,
      serveEmbedded: false,
      log: createLogger('silent'),
      store,
      mail,
      clock: () => NOW,
      workers: { events: false, wakes: false, sends: false },
      http: true,
      staff,
    });
  });

  afterAll(async () => {
    await engine?.stop();
    await store?.cleanup();
    if (templatesDir) await rm(templatesDir, { recursive: true, force: true });
  });

  it("sends the digest at the user's day start, once", async () => {
    await eventually(async () => sent.find((m) => m.to === 'bob@example.com'), 'the digest to bob');
    expect(sent.filter((m) => m.to === 'bob@example.com')).toHaveLength(1);
    expect(sent[0]!.text).toContain(`#${taskId} call HIGH 09:30: Call Ann`);
    const rows = await store.db.selectFrom('staff_digests').selectAll().execute();
    expect(rows.map((r) => [r.email, r.local_date, r.tasks])).toEqual([['bob@example.com', '2026-12-03', 1]]);
  });

  it('serves the calendar feed of a user, and a 404 for a bad token', async () => {
    const url = new URL(staffCalendarUrl(engine!.deps.links, staff, 'bob@example.com'));
    const res = await fetch(`${engine!.http!.url}${url.pathname}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(`UID:nurture-task-${taskId}`);
    expect((await fetch(`${engine!.http!.url}/ics/bad.token.ics`)).status).toBe(404);
  });
});
