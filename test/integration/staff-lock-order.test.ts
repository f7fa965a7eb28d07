import { sql } from 'kysely';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assignTasks } from '../../src/app/assign-tasks.js';
import { escalateTasks } from '../../src/app/escalate-tasks.js';
import { claimInboxTask } from '../../src/app/inbox-actions.js';
import { insertTimers } from '../../src/db/staff-work-repository.js';
import type { AppContext } from '../../src/app/context.js';
import { applyEvent } from '../../src/engine/apply-event.js';
import type { EngineDeps } from '../../src/engine/engine-deps.js';
import { parseTeamDirectory } from '../../src/staff/team-file.js';
import { appContextFor, createTestDeps, writeTemplates } from '../support/engine.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';
import type { MailSender } from '../../src/templates/mail-sender.js';

/**
 * The staff sweep locks a contact before its tasks, as the engine and completions do. A
 * transaction that holds the contact (what a completion holds first) must still be able to take
 * the task: with the other order the two deadlocked and Postgres rolled one back.
 */

const TEAM = `
zone: UTC
hours: { weekdays: "00:00-24:00", sat: "00:00-24:00", sun: "00:00-24:00" }
teams:
  sales: {}
users:
  bob@example.com: { name: Bob Rivera, teams: [sales] }
  dana@example.com: { name: Dana Kim, teams: [sales] }
assignment:
  - name: calls go round sales
    when: { kind: call }
    to: { round_robin: sales }
`;

const T0 = DateTime.fromISO('2026-12-01T10:00:00Z', { zone: 'utc' });

describe('staff sweep lock order', () => {
  let store: TestStore;
  let deps: EngineDeps;
  let app: AppContext;

  beforeAll(async () => {
    store = await createTestStore('postgres');
    ({ deps } = await createTestDeps(store.db, [], await writeTemplates()));
    const r = parseTeamDirectory(TEAM, 'team.yaml');
    if (!r.ok || !r.value) throw new Error(JSON.stringify(r));
    app = { ...appContextFor(deps), staff: r.value };
  });
  afterAll(async () => {
    await store?.cleanup();
  });

  /** Waits (by polling Postgres, not the clock) until some backend is blocked by `pid`. */
  async function untilBlockedBy(pid: number): Promise<void> {
    for (let i = 0; i < 5000; i++) {
      const r = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where ${pid} = any(pg_blocking_pids(pid))`.execute(store.db);
      if (Number(r.rows[0]!.n) > 0) return;
    }
    throw new Error(`nothing waited for backend ${pid}`);
  }

  it('assignment waits for a contact held by another transaction without holding its task', async () => {
    const r = await applyEvent(deps, { id: 'appt-ann', type: 'appointment_requested', occurredAt: T0.toISO()!, contact: { email: 'ann@example.com', firstName: 'Ann', phone: '+15555550100' }, data: {} }, T0);
    expect(r.status).toBe('applied');
    const contact = await store.db.selectFrom('contacts').select('id').where('email', '=', 'ann@example.com').executeTakeFirstOrThrow();
    const task = await store.db.selectFrom('tasks').select('id').where('contact_id', '=', contact.id).where('kind', '=', 'call').executeTakeFirstOrThrow();

    let assigning: ReturnType<typeof assignTasks> | undefined;
    await store.db.transaction().execute(async (tx) => {
      // What a completion or an event does: the contact first...
      await tx.selectFrom('contacts').select('id').where('id', '=', contact.id).forUpdate().execute();
      const pid = Number((await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(tx)).rows[0]!.pid);
      assigning = assignTasks(app, { now: T0 });
      await untilBlockedBy(pid);
      // ...then the task. NOWAIT: had the sweep taken the task first, this fails at once (55P03)
      // instead of deadlocking later.
      const locked = await tx.selectFrom('tasks').select('id').where('id', '=', task.id).forUpdate().noWait().execute();
      expect(locked).toHaveLength(1);
    });
    expect(await assigning).toEqual({ assigned: 1, queued: 0, unassigned: 0 });
    const after = await store.db.selectFrom('tasks').select(['assignee']).where('id', '=', task.id).executeTakeFirstOrThrow();
    expect(after.assignee).toMatch(/^(bob|dana)@example\.com$/);
    const owner = await store.db.selectFrom('contacts').select('owner').where('id', '=', contact.id).executeTakeFirstOrThrow();
    expect(owner.owner).toBe(after.assignee);
  });

  it("an SLA reassignment waits for the contact (it moves the contact's owner) before it locks the task", async () => {
    const r = await applyEvent(deps, { id: 'appt-cal', type: 'appointment_requested', occurredAt: T0.toISO()!, contact: { email: 'cal@example.com', firstName: 'Cal', phone: '+15555550101' }, data: {} }, T0);
    expect(r.status).toBe('applied');
    const contact = await store.db.selectFrom('contacts').select('id').where('email', '=', 'cal@example.com').executeTakeFirstOrThrow();
    const task = await store.db.selectFrom('tasks').select('id').where('contact_id', '=', contact.id).where('kind', '=', 'call').executeTakeFirstOrThrow();
    await store.db.updateTable('tasks').set({ assignee: 'bob@example.com', team: 'sales', assignment_reason: 'test', assigned_at: T0.toJSDate() }).where('id', '=', task.id).execute();
    await store.db.updateTable('contacts').set({ owner: 'bob@example.com' }).where('id', '=', contact.id).execute();
    await insertTimers(store.db, task.id, [{ step: 1, action: 'reassign', dueAt: T0.toJSDate(), escalation: null }]);
    const mail: MailSender = {
      async send(m) {
        return { messageId: m.messageId, accepted: true, response: 'collected' };
      },
      async close() {},
      describe: () => 'collected in memory',
    };

    let escalating: ReturnType<typeof escalateTasks> | undefined;
    await store.db.transaction().execute(async (tx) => {
      await tx.selectFrom('contacts').select('id').where('id', '=', contact.id).forUpdate().execute();
      const pid = Number((await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(tx)).rows[0]!.pid);
      escalating = escalateTasks(app, { now: T0.plus({ minutes: 1 }), mail });
      await untilBlockedBy(pid);
      const locked = await tx.selectFrom('tasks').select('id').where('id', '=', task.id).forUpdate().noWait().execute();
      expect(locked).toHaveLength(1);
    });
    expect((await escalating)!.reassigned).toBe(1);
    const after = await store.db.selectFrom('tasks').select(['assignee']).where('id', '=', task.id).executeTakeFirstOrThrow();
    expect(after.assignee).toBe('dana@example.com');
    const owner = await store.db.selectFrom('contacts').select('owner').where('id', '=', contact.id).executeTakeFirstOrThrow();
    expect(owner.owner).toBe('dana@example.com');
  });

  it('an inbox claim waits for the contact before it locks the task', async () => {
    const r = await applyEvent(deps, { id: 'appt-dee', type: 'appointment_requested', occurredAt: T0.toISO()!, contact: { email: 'dee@example.com', firstName: 'Dee', phone: '+15555550102' }, data: {} }, T0);
    expect(r.status).toBe('applied');
    const contact = await store.db.selectFrom('contacts').select('id').where('email', '=', 'dee@example.com').executeTakeFirstOrThrow();
    const task = await store.db.selectFrom('tasks').select('id').where('contact_id', '=', contact.id).where('kind', '=', 'call').executeTakeFirstOrThrow();
    await store.db.updateTable('tasks').set({ assignee: null, team: 'sales', assignment_reason: 'queued', assigned_at: T0.toJSDate() }).where('id', '=', task.id).execute();
    const bob = { email: 'bob@example.com', name: 'Bob Rivera', teams: ['sales'], manages: [] };

    let claiming: Promise<void> | undefined;
    await store.db.transaction().execute(async (tx) => {
      await tx.selectFrom('contacts').select('id').where('id', '=', contact.id).forUpdate().execute();
      const pid = Number((await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(tx)).rows[0]!.pid);
      claiming = claimInboxTask(app, bob, task.id, T0);
      await untilBlockedBy(pid);
      const locked = await tx.selectFrom('tasks').select('id').where('id', '=', task.id).forUpdate().noWait().execute();
      expect(locked).toHaveLength(1);
    });
    await claiming;
    const after = await store.db.selectFrom('tasks').select(['assignee', 'claimed_at']).where('id', '=', task.id).executeTakeFirstOrThrow();
    expect(after).toEqual({ assignee: 'bob@example.com', claimed_at: T0.toJSDate() });
  });
});
