import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assignTasks } from '../../src/app/assign-tasks.js';
import type { AppContext } from '../../src/app/context.js';
import { escalateTasks } from '../../src/app/escalate-tasks.js';
import { taskActivity } from '../../src/db/task-activity-repository.js';
import { insertTask } from '../../src/db/task-repository.js';
import { applyEvent } from '../../src/engine/apply-event.js';
import type { EngineDeps } from '../../src/engine/engine-deps.js';
import type { TeamDirectory } from '../../src/staff/directory.js';
import { parseTeamDirectory } from '../../src/staff/team-file.js';
import type { MailSender, OutgoingMail } from '../../src/templates/mail-sender.js';
import { StaffSweep } from '../../src/workers/staff-sweep.js';
import { speedToLeadReport } from '../../src/queries/speed-to-lead.js';
import { formatSpeedToLead } from '../../src/cli/speed-to-lead.js';
import { appContextFor, createTestDeps, writeTemplates } from '../support/engine.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';

/** Assignment and SLA escalation against real PostgreSQL, with an injected clock. */

const TEAM = `
zone: UTC
hours: { weekdays: "09:00-17:00" }
teams:
  sales: { manager: mia@example.com, holidays: [2026-12-25] }
  office: {}
users:
  bob@example.com: { name: Bob Rivera, teams: [sales], capacity: 1 }
  dana@example.com: { name: Dana Kim, teams: [sales], capacity: 5 }
  erin@example.com: { name: Erin Poe, teams: [sales], capacity: 5, hours: { weekdays: "13:00-21:00" } }
  mia@example.com: { name: Mia Lund }
  olive@example.com: { name: Olive Brandt, teams: [office] }
assignment:
  - name: own rep
    when: { kind: call }
    to: owner
  - name: vip leads wait for whoever is free
    when: { kind: call, attributes.territory: vip }
    to: { queue: sales }
  - name: calls go round sales
    when: { kind: call }
    to: { round_robin: sales }
fallback: olive@example.com
`;

const T0 = DateTime.fromISO('2026-12-01T10:00:00Z', { zone: 'utc' }); // a Tuesday, 10:00 UTC

function collectingMail(): MailSender & { sent: OutgoingMail[] } {
  const sent: OutgoingMail[] = [];
  return {
    sent,
    async send(m) {
      sent.push(m);
      return { messageId: m.messageId, accepted: true, response: 'collected' };
    },
    async close() {},
    describe: () => 'collected in memory',
  };
}

describe('assignment and speed-to-lead escalation', () => {
  let store: TestStore;
  let deps: EngineDeps;
  let app: AppContext;
  let dir: TeamDirectory;

  const contactOf = (email: string) => store.db.selectFrom('contacts').selectAll().where('email', '=', email).executeTakeFirstOrThrow();
  const leadCallOf = async (email: string) => {
    const c = await contactOf(email);
    return store.db.selectFrom('tasks').selectAll().where('contact_id', '=', c.id).where('kind', '=', 'call').orderBy('id').executeTakeFirstOrThrow();
  };
  const timersOf = (taskId: number) => store.db.selectFrom('task_timers').selectAll().where('task_id', '=', taskId).orderBy('step').execute();
  /** A promotion, made at `at` (the task's creation is pinned to it: the database stamps its own clock). */
  const promote = async (email: string, at: DateTime, attributes: Record<string, unknown> = {}) => {
    const r = await applyEvent(deps, { id: `appt-${email}-${at.toMillis()}`, type: 'appointment_requested', occurredAt: at.toISO()!, contact: { email, firstName: email.split('@')[0], phone: '+15555550100', attributes }, data: {} }, at);
    expect(r.status).toBe('applied');
    const t = await leadCallOf(email);
    await store.db.updateTable('tasks').set({ created_at: at.toJSDate() }).where('id', '=', t.id).execute();
    return t.id;
  };

  beforeAll(async () => {
    store = await createTestStore('postgres');
    ({ deps } = await createTestDeps(store.db, [], await writeTemplates()));
    const r = parseTeamDirectory(TEAM, 'team.yaml');
    if (!r.ok || !r.value) throw new Error(JSON.stringify(r));
    dir = r.value;
    app = { ...appContextFor(deps), staff: dir };
  });
  afterAll(async () => {
    await store?.cleanup();
  });

  it('gives a promoted lead its call round-robin among those working, with the reason, the owner, the deadline and the timers', async () => {
    const id = await promote('ann@example.com', T0);
    expect(await assignTasks(app, { now: T0 })).toEqual({ assigned: 1, queued: 0, unassigned: 0 });
    const t = await leadCallOf('ann@example.com');
    expect(t).toMatchObject({ id, assignee: 'bob@example.com', team: 'sales' });
    expect(t.assignment_reason).toBe('rule "calls go round sales" (line 20): round-robin in team sales, 2 of 3 available, Erin off-hours → Bob Rivera');
    expect(t.assigned_at?.toISOString()).toBe('2026-12-01T10:00:00.000Z');
    expect(t.sla_due_at?.toISOString()).toBe('2026-12-01T10:05:00.000Z');
    expect((await contactOf('ann@example.com')).owner).toBe('bob@example.com');
    expect((await timersOf(id)).map((x) => [x.step, x.action, x.due_at.toISOString(), x.status])).toEqual([
      [1, 'remind', '2026-12-01T10:03:00.000Z', 'pending'],
      [2, 'reassign', '2026-12-01T10:05:00.000Z', 'pending'],
      [3, 'notify_manager', '2026-12-01T10:15:00.000Z', 'pending'],
      [4, 'breach', '2026-12-01T10:05:00.000Z', 'pending'],
    ]);
    const activity = await taskActivity(store.db, id);
    expect(activity.map((a) => [a.actor, a.action, a.reason])).toEqual([['system', 'assigned', t.assignment_reason]]);
    expect((await store.db.selectFrom('team_cursors').selectAll().execute()).map((c) => [c.team, c.last_assignee])).toEqual([['sales', 'bob@example.com']]);
  });

  it('skips a rep at capacity, keeps a contact with its owner, queues and falls back', async () => {
    await promote('ben@example.com', T0);
    await promote('vic@example.com', T0, { territory: 'VIP' });
    const ann = await contactOf('ann@example.com');
    await insertTask(store.db, { touch_id: null, contact_id: ann.id, enrollment_id: null, kind: 'call', priority: 'normal', title: 'Follow-up', note: null, content: null, address: null, phone: null, history: [], due_at: T0.toJSDate() });
    await insertTask(store.db, { touch_id: null, contact_id: ann.id, enrollment_id: null, kind: 'notice', priority: 'normal', title: 'A notice', note: null, content: null, address: null, phone: null, history: [], due_at: T0.toJSDate() });
    expect(await assignTasks(app, { now: T0, batch: 2 })).toEqual({ assigned: 3, queued: 1, unassigned: 0 });

    const ben = await leadCallOf('ben@example.com');
    expect(ben).toMatchObject({ assignee: 'dana@example.com', assignment_reason: expect.stringContaining('1 of 3 available, Bob at capacity, Erin off-hours → Dana Kim') });
    const vic = await leadCallOf('vic@example.com');
    expect(vic).toMatchObject({ assignee: null, team: 'sales', assignment_reason: expect.stringContaining("left in team sales's queue") });
    expect((await taskActivity(store.db, vic.id)).map((a) => a.action)).toEqual(['queued']);
    // A queued lead's SLA counts the team's working time.
    expect(vic.sla_due_at?.toISOString()).toBe('2026-12-01T10:05:00.000Z');
    const annTasks = await store.db.selectFrom('tasks').selectAll().where('contact_id', '=', ann.id).orderBy('id').execute();
    expect(annTasks.map((x) => [x.kind, x.assignee, x.sla_due_at])).toEqual([
      ['call', 'bob@example.com', expect.any(Date)],
      // The owner, though at capacity: once assigned, the same rep. Normal priority: no SLA by default.
      ['call', 'bob@example.com', null],
      // No rule for notices: the fallback owner.
      ['notice', 'olive@example.com', null],
    ]);
    expect(annTasks[2]!.assignment_reason).toBe('no rule matched: the fallback owner Olive Brandt');
  });

  it('off-hours: the rep who works first, due in the first 15 minutes of their next period', async () => {
    const night = DateTime.fromISO('2026-12-01T22:00:00Z', { zone: 'utc' });
    await promote('nia@example.com', night);
    await assignTasks(app, { now: night });
    const t = await leadCallOf('nia@example.com');
    // Bob is at capacity; Dana and Erin are off; Dana starts at 09:00, Erin at 13:00.
    expect(t).toMatchObject({ assignee: 'dana@example.com', assignment_reason: expect.stringContaining('0 of 3 available, Bob at capacity, Dana off-hours, Erin off-hours; Dana works first → Dana Kim') });
    expect(t.sla_due_at?.toISOString()).toBe('2026-12-02T09:15:00.000Z');
    expect((await timersOf(t.id)).map((x) => x.due_at.toISOString())).toEqual(['2026-12-02T09:03:00.000Z', '2026-12-02T09:05:00.000Z', '2026-12-02T09:15:00.000Z', '2026-12-02T09:15:00.000Z']);
  });

  it('fires the timers in order with a fake clock, once, across a restart of the sweep; records the breach', async () => {
    const ann = await leadCallOf('ann@example.com');
    const ben = await leadCallOf('ben@example.com');
    // Ben's call was attempted in time: its timers are cancelled, not fired.
    await store.db.updateTable('tasks').set({ first_attempt_at: T0.plus({ minutes: 1 }).toJSDate() }).where('id', '=', ben.id).execute();
    let now = T0.plus({ minutes: 3 });
    const mail = collectingMail();
    const to = (taskId: number) => mail.sent.filter((m) => m.messageId.startsWith(`sla-${taskId}-`)).map((m) => m.to);
    const first = new StaffSweep(app, { mail, clock: () => now });
    await first.round();
    expect(to(ann.id)).toEqual(['bob@example.com']);
    expect(mail.sent.find((m) => m.to === 'bob@example.com')!.subject).toContain('Reminder: New lead: call ann');
    // Vic's call waits in the sales queue: the reminder goes to the team.
    const vic = await leadCallOf('vic@example.com');
    expect(to(vic.id)).toEqual(['bob@example.com', 'dana@example.com', 'erin@example.com']);
    await first.stop();
    const sentBefore = mail.sent.length;

    // A new process, the same instant: nothing fires twice.
    const second = new StaffSweep(app, { mail, clock: () => now });
    await second.round();
    second.start();
    await second.stop();
    expect(mail.sent).toHaveLength(sentBefore);
    expect(await store.db.selectFrom('task_activity').select('action').where('action', '=', 'reminded').execute()).toHaveLength(2);

    now = T0.plus({ minutes: 5 });
    const third = new StaffSweep(app, { mail, clock: () => now });
    await third.round();
    const moved = await leadCallOf('ann@example.com');
    // Bob is excluded; Dana is the one working under capacity (Erin starts at 13:00).
    expect(moved).toMatchObject({ assignee: 'dana@example.com', assignment_reason: 'SLA reassign: round-robin in team sales, 1 of 3 available, Bob has it now, Erin off-hours → Dana Kim' });
    expect(moved.breached_at?.toISOString()).toBe('2026-12-01T10:05:00.000Z');
    expect((await contactOf('ann@example.com')).owner).toBe('dana@example.com');
    expect(to(ann.id)).toEqual(['bob@example.com', 'dana@example.com']);
    // The queued call is handed out of the queue to someone working.
    expect(await leadCallOf('vic@example.com')).toMatchObject({ assignee: 'dana@example.com', team: 'sales' });

    now = T0.plus({ minutes: 15 });
    await third.round();
    await third.stop();
    expect(to(ann.id)).toEqual(['bob@example.com', 'dana@example.com', 'mia@example.com']);
    expect((await taskActivity(store.db, ann.id)).map((a) => a.action)).toEqual(['assigned', 'reminded', 'reassigned', 'breached', 'manager_notified']);
    expect((await taskActivity(store.db, vic.id)).map((a) => a.action)).toEqual(['queued', 'reminded', 'reassigned', 'breached', 'manager_notified']);
    const timers = await timersOf(ann.id);
    expect(timers.map((x) => [x.step, x.action, x.status])).toEqual([
      [1, 'remind', 'fired'],
      [2, 'reassign', 'fired'],
      [3, 'notify_manager', 'cancelled'],
      [4, 'breach', 'fired'],
      [5, 'notify_manager', 'fired'],
    ]);
    expect(timers[4]!.due_at.toISOString()).toBe('2026-12-01T10:15:00.000Z');
    expect((await timersOf(ben.id)).map((x) => x.status)).toEqual(['cancelled', 'cancelled', 'cancelled', 'cancelled']);
    expect(await taskActivity(store.db, ben.id)).toHaveLength(1);

    // Much later: everything of these tasks has fired or was cancelled once.
    const sent = mail.sent.length;
    const r = await escalateTasks(app, { now: T0.plus({ minutes: 30 }), mail });
    expect(r).toMatchObject({ reminded: 0, reassigned: 0, managerNotified: 0, breached: 0 });
    expect(mail.sent).toHaveLength(sent);
  });

  it('measures speed to lead per lead and per rep: to first attempt, to first connected call, SLA met and breached', async () => {
    const ben = await leadCallOf('ben@example.com');
    await store.db.updateTable('tasks').set({ first_connected_at: T0.plus({ minutes: 2 }).toJSDate() }).where('id', '=', ben.id).execute();
    const ann = await leadCallOf('ann@example.com');
    await store.db.updateTable('tasks').set({ first_attempt_at: T0.plus({ minutes: 20 }).toJSDate() }).where('id', '=', ann.id).execute();
    const r = await speedToLeadReport(store.db, { now: T0.plus({ minutes: 30 }).toJSDate() });
    const byContact = Object.fromEntries(r.leads.map((l) => [l.contact, l]));
    expect(byContact['ben@example.com']).toMatchObject({ assignee: 'dana@example.com', toAttemptSeconds: 60, toConnectedSeconds: 120, sla: 'met' });
    expect(byContact['ann@example.com']).toMatchObject({ assignee: 'dana@example.com', toAttemptSeconds: 1200, toConnectedSeconds: null, sla: 'breached' });
    expect(byContact['vic@example.com']).toMatchObject({ sla: 'breached', toAttemptSeconds: null });
    expect(byContact['nia@example.com']).toMatchObject({ sla: 'pending' });
    // The follow-up call Ann's owner got is not a lead call (no SLA): only the promotion's calls count.
    expect(r.leads).toHaveLength(4);
    expect(r.total).toMatchObject({ leads: 4, met: 1, breached: 2, pending: 1 });
    expect(r.reps).toEqual([expect.objectContaining({ assignee: 'dana@example.com', leads: 4, met: 1, breached: 2, pending: 1, toAttempt: expect.objectContaining({ count: 2, medianSeconds: 630 }) })]);
    const text = formatSpeedToLead(r, 'UTC');
    expect(text).toContain('4 lead call(s), SLA met 1, breached 2, pending 1');
    expect(text).toMatch(/dana@example\.com\s+4\s+/);
  });

  it('two processes sweeping at once: every task decided once, every timer fired once', async () => {
    const late = T0.plus({ hours: 2 });
    const ids: number[] = [];
    for (const n of ['p1', 'p2', 'p3', 'p4', 'p5', 'p6']) ids.push(await promote(`${n}@example.com`, late));
    const [a, b] = await Promise.all([assignTasks(app, { now: late, batch: 2 }), assignTasks(app, { now: late, batch: 2 })]);
    expect(a.assigned + a.queued + b.assigned + b.queued).toBe(6);
    const decided = await store.db.selectFrom('task_activity').select(['task_id']).where('task_id', 'in', ids).execute();
    expect(decided.map((d) => d.task_id).sort((x, y) => x - y)).toEqual(ids);

    const mail = collectingMail();
    // Dana takes the first; the rest go to Erin, who starts first (13:00): their reminders are due at 13:03.
    const at = late.plus({ hours: 1, minutes: 3 });
    await Promise.all([escalateTasks(app, { now: at, mail }), escalateTasks(app, { now: at, mail }), escalateTasks(app, { now: at, mail })]);
    const reminded = await store.db.selectFrom('task_activity').select(['task_id']).where('task_id', 'in', ids).where('action', '=', 'reminded').execute();
    expect(reminded.map((d) => d.task_id).sort((x, y) => x - y)).toEqual(ids);
    for (const id of ids) expect(mail.sent.filter((m) => m.messageId.startsWith(`sla-${id}-`) && m.subject.startsWith('Reminder'))).toHaveLength(1);
    expect(new Set(mail.sent.map((m) => m.messageId)).size).toBe(mail.sent.length);
  });
});
