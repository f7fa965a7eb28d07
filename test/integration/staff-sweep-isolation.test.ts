import type { Metrics } from '../../src/app/metrics.js';
import { sql } from 'kysely';
import { DateTime } from 'luxon';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/app/context.js';
import { insertTimers } from '../../src/db/staff-work-repository.js';
import { applyEvent } from '../../src/engine/apply-event.js';
import type { EngineDeps } from '../../src/engine/engine-deps.js';
import { parseTeamDirectory } from '../../src/staff/team-file.js';
import type { MailSender, OutgoingMail } from '../../src/templates/mail-sender.js';
import { StaffSweep } from '../../src/workers/staff-sweep.js';
import { appContextFor, createTestDeps, writeTemplates } from '../support/engine.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';

/**
 * The staff sweep runs assignment and escalation each in its own try: a round whose assignment
 * fails still fires the SLA timers that are due. Assignment is made to fail for real, by renaming
 * the table of team cursors (only assignment and reassignment read it) in this file's own database.
 */

const TEAM = `
zone: UTC
hours: { weekdays: "00:00-24:00", sat: "00:00-24:00", sun: "00:00-24:00" }
teams:
  sales: {}
users:
  bob@example.com: { name: Bob Rivera, teams: [sales] }
assignment:
  - name: calls go round sales
    when: { kind: call }
    to: { round_robin: sales }
`;

const T0 = DateTime.fromISO('2026-12-01T10:00:00Z', { zone: 'utc' });

describe('staff sweep: assignment and escalation fail apart', () => {
  let store: TestStore;
  let deps: EngineDeps;
  let app: AppContext;
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    store = await createTestStore('postgres');
    ({ deps } = await createTestDeps(store.db, [], await writeTemplates()));
    const r = parseTeamDirectory(TEAM, 'team.yaml');
    if (!r.ok || !r.value) throw new Error(JSON.stringify(r));
    const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
    app = { ...appContextFor(deps), staff: r.value, log };
  });
  afterAll(async () => {
    await store?.cleanup();
  });

  const callOf = async (email: string, at: DateTime) => {
    const r = await applyEvent(deps, { id: `appt-${email}`, type: 'appointment_requested', occurredAt: at.toISO()!, contact: { email, firstName: 'X', phone: '+15555550100' }, data: {} }, at);
    expect(r.status).toBe('applied');
    const c = await store.db.selectFrom('contacts').select('id').where('email', '=', email).executeTakeFirstOrThrow();
    return (await store.db.selectFrom('tasks').select('id').where('contact_id', '=', c.id).where('kind', '=', 'call').executeTakeFirstOrThrow()).id;
  };

  it('fires a due reminder in a round whose assignment fails, and assigns in the next round once it works', async () => {
    const held = await callOf('ann@example.com', T0);
    await store.db.updateTable('tasks').set({ assignee: 'bob@example.com', team: 'sales', assignment_reason: 'test', assigned_at: T0.toJSDate() }).where('id', '=', held).execute();
    await insertTimers(store.db, held, [{ step: 1, action: 'remind', dueAt: T0.toJSDate(), escalation: null }]);
    const waiting = await callOf('cal@example.com', T0);
    const sent: OutgoingMail[] = [];
    const mail: MailSender = {
      async send(m) {
        sent.push(m);
        return { messageId: m.messageId, accepted: true, response: 'collected' };
      },
      async close() {},
      describe: () => 'collected in memory',
    };
    const failures: string[] = [];
    const metrics: Metrics = { event() {}, wakeUp() {}, send() {}, sweep() {}, serviceError() {}, backgroundFailure: (loop) => failures.push(loop) };
    const sweep = new StaffSweep(app, { mail, clock: () => T0.plus({ minutes: 5 }), metrics });

    await sql`alter table team_cursors rename to team_cursors_away`.execute(store.db);
    try {
      await sweep.round();
    } finally {
      await sql`alter table team_cursors_away rename to team_cursors`.execute(store.db);
    }
    expect((await store.db.selectFrom('tasks').select('assigned_at').where('id', '=', waiting).executeTakeFirstOrThrow()).assigned_at).toBeNull();
    const reminded = await store.db.selectFrom('task_activity').select('action').where('task_id', '=', held).execute();
    expect(reminded.map((a) => a.action)).toEqual(['reminded']);
    expect(sent.map((m) => m.to)).toEqual(['bob@example.com']);
    expect(lines.filter((l) => l['level'] === 40).map((l) => l['msg'])).toEqual(['staff sweep: task assignment failed; trying again']);
    expect(failures).toEqual(['staff_assign']);

    await sweep.round();
    expect((await store.db.selectFrom('tasks').select('assignee').where('id', '=', waiting).executeTakeFirstOrThrow()).assignee).toBe('bob@example.com');
    expect(lines.map((l) => l['msg'])).toContain("the staff sweep's task assignment works again");
    expect(sent).toHaveLength(1);
    expect(failures).toEqual(['staff_assign']);
  });
});
