import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import type { TeamDirectory } from '../../src/staff/directory.js';
import { parseTeamDirectory } from '../../src/staff/team-file.js';
import type { MailSender, OutgoingMail } from '../../src/templates/mail-sender.js';
import { EVENT_JOB, eventJobId } from '../../src/workers/queues.js';
import type { RunningEngine } from '../../src/workers/runtime.js';
import { startEngine } from '../../src/workers/runtime.js';
import { deleteQueueKeys, eventually, testConfig, writeTemplates } from '../support/engine.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';

/**
 * The staff sweep inside the real runtime: a promotion's lead call is assigned by the running
 * engine, and its SLA timers, kept in Postgres, fire once across restarts of the engine while
 * the injected clock moves on (the engines' clock is real time plus an offset the test sets).
 */

const TEAM = `
zone: UTC
hours: { daily: "00:00-24:00" }
teams:
  sales: { manager: mia@example.com }
users:
  bob@example.com: { name: Bob, teams: [sales] }
  dana@example.com: { name: Dana, teams: [sales] }
  mia@example.com: { name: Mia }
assignment:
  - name: calls go round sales
    when: { kind: call }
    to: { round_robin: sales }
`;

describe('staff sweep in the runtime', () => {
  let store: TestStore;
  let config: Config;
  let templatesDir: string;
  let staff: TeamDirectory;
  let redis: Redis;
  let offsetMs = 0;
  const sent: OutgoingMail[] = [];
  const mail: MailSender = {
    async send(m) {
      sent.push(m);
      return { messageId: m.messageId, accepted: true, response: 'collected' };
    },
    async close() {},
    describe: () => 'collected in memory',
  };
  const start = (): Promise<RunningEngine> =>
    startEngine({ config, templatesDir, publish: [], sweeper: true, mayLaunchRedis: false, serveEmbedded: false, log: createLogger('silent'), store, mail, staff, clock: () => DateTime.utc().plus({ milliseconds: offsetMs }) });
  const actions = (taskId: number) => store.db.selectFrom('task_activity').select(['action', 'reason']).where('task_id', '=', taskId).orderBy('id').execute();

  beforeAll(async () => {
    store = await createTestStore('postgres');
    config = testConfig();
    templatesDir = await writeTemplates();
    const r = parseTeamDirectory(TEAM, 'team.yaml');
    if (!r.ok || !r.value) throw new Error(JSON.stringify(r));
    staff = r.value;
    redis = new Redis(config.redisUrl!);
  });
  afterAll(async () => {
    if (redis) {
      await deleteQueueKeys(redis, config.queuePrefix);
      redis.disconnect();
    }
    await store?.cleanup();
    await rm(config.dataDir, { recursive: true, force: true });
  });

  it('assigns the lead call of a promotion and fires each SLA timer once across restarts', async () => {
    const first = await start();
    const id = `appt-${randomBytes(4).toString('hex')}`;
    await first.queues.events.add(EVENT_JOB, { id, type: 'appointment_requested', occurredAt: new Date().toISOString(), contact: { email: 'lee@example.com' }, data: {} }, { jobId: eventJobId(id) });
    const task = await eventually(
      () => store.db.selectFrom('tasks').selectAll().where('kind', '=', 'call').where('assigned_at', 'is not', null).executeTakeFirst(),
      'the lead call assigned by the running engine',
    );
    expect(task).toMatchObject({ assignee: 'bob@example.com', team: 'sales', assignment_reason: expect.stringContaining('round-robin in team sales, 2 of 2 available') });
    expect(task.sla_due_at!.getTime() - task.created_at.getTime()).toBe(5 * 60_000);
    // Bob has it open in his inbox (claimed) when the reassign step takes it from him.
    await store.db.updateTable('tasks').set({ claimed_at: new Date() }).where('id', '=', task.id).execute();
    await first.stop();

    // Down while the reminder came due; the next engine sends it.
    offsetMs = 3 * 60_000 + 5_000;
    const second = await start();
    await eventually(async () => (await actions(task.id)).some((a) => a.action === 'reminded'), 'the reminder after the restart');
    await second.stop();

    // Another restart, past the reassign step and the deadline: those fire, the reminder does not again.
    offsetMs = 5 * 60_000 + 5_000;
    const third = await start();
    await eventually(async () => (await actions(task.id)).some((a) => a.action === 'breached'), 'the breach');
    await third.stop();

    const all = await actions(task.id);
    expect(all.map((a) => a.action)).toEqual(['assigned', 'reminded', 'reassigned', 'breached']);
    // Dana was given the task: Bob's claim does not carry over to her.
    const moved = await store.db.selectFrom('tasks').select(['assignee', 'claimed_at', 'assigned_at']).where('id', '=', task.id).executeTakeFirstOrThrow();
    expect(moved).toMatchObject({ assignee: 'dana@example.com', claimed_at: null });
    expect(moved.assigned_at!.getTime()).toBeGreaterThan(task.assigned_at!.getTime());
    expect(sent.map((m) => m.to)).toEqual(['bob@example.com', 'dana@example.com']);
    const timers = await store.db.selectFrom('task_timers').select(['action', 'status']).where('task_id', '=', task.id).orderBy('step').execute();
    expect(timers).toEqual([
      { action: 'remind', status: 'fired' },
      { action: 'reassign', status: 'fired' },
      { action: 'notify_manager', status: 'cancelled' },
      { action: 'breach', status: 'fired' },
      { action: 'notify_manager', status: 'pending' },
    ]);
  });
});
