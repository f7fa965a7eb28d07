import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { completeTask } from '../../src/app/complete-task.js';
import { applyEvent, applyEvents } from '../../src/engine/apply-event.js';
import { catchUpReportRollups } from '../../src/db/report-rollup-repository.js';
import { funnelReport } from '../../src/queries/reports/funnel.js';
import { reportBacklog } from '../../src/queries/report-backlog.js';
import { createLogger } from '../../src/logger.js';
import { ReportCatchUp } from '../../src/workers/report-catch-up.js';
import { sequencesReport } from '../../src/queries/reports/sequence-steps.js';
import { timeToLeadReport } from '../../src/queries/reports/time-to-lead.js';
import type { NurtureEvent } from '../../src/sequences/event.js';
import { appContextFor } from '../support/engine.js';
import { useEngineFixture } from '../support/engine-fixture.js';

/**
 * The report rollups (report_contacts, report_touch_engagement) follow whoever writes: the
 * engine's batched and single paths, a task completed by staff, rows written by hand in any
 * order. report_touch_engagement is written in the writer's transaction; report_contacts is
 * recomputed by a catch-up from the contacts the writers name (migration 2026-12-04T120000),
 * which every report runs before it reads.
 */
const SEQ = `
id: welcome
trigger: { event: opt_in }
steps: [ { email: welcome }, { wait: 3 days }, { email: guide } ]
`;
const T0 = DateTime.fromISO('2026-11-23T15:00:00Z', { zone: 'utc' });
const ev = (email: string, id: string, type: string, at: DateTime, data: Record<string, unknown> = {}): NurtureEvent => ({ id, type, occurredAt: at.toISO()!, contact: { email }, data });

describe('report rollups', () => {
  const f = useEngineFixture('postgres', [SEQ]);
  // As a report sees it: caught up first.
  const rollup = async (email: string) => {
    await catchUpReportRollups(f.store.db);
    return rolledUp(email);
  };
  const rolledUp = async (email: string) =>
    f.store.db
      .selectFrom('report_contacts')
      .innerJoin('contacts', 'contacts.id', 'report_contacts.contact_id')
      .select(['report_contacts.opted_in_at', 'source', 'reached', 'lead_at', 'conversation_at', 'sequences'])
      .where('email', '=', email)
      .executeTakeFirst();

  it('follow the engine: batched opt-ins, a promotion, a booked call, opens tied to a touch', async () => {
    await applyEvents(f.deps, [ev('a@example.com', 'a1', 'opt_in', T0, { source: 'ads' }), ev('b@example.com', 'b1', 'opt_in', T0.plus({ minutes: 1 }))], T0.plus({ minutes: 1 }));
    expect(await rollup('a@example.com')).toEqual({ opted_in_at: T0.toJSDate(), source: 'ads', reached: 0, lead_at: null, conversation_at: null, sequences: ['welcome'] });
    expect((await rollup('b@example.com'))?.source).toBe('(none)');

    const touch = await f.store.db.selectFrom('touches').innerJoin('contacts', 'contacts.id', 'touches.contact_id').select('touches.id').where('email', '=', 'a@example.com').executeTakeFirstOrThrow();
    // The fixture runs no sends worker: the welcome email goes out here.
    await f.store.db.updateTable('touches').set({ status: 'sent', sent_at: T0.toJSDate() }).where('id', '=', touch.id).execute();
    const t1 = T0.plus({ hours: 1 });
    await applyEvent(f.deps, ev('a@example.com', 'a2', 'email_opened', t1, { touchId: touch.id }), t1);
    await applyEvent(f.deps, ev('a@example.com', 'a3', 'email_opened', t1.plus({ hours: 1 }), { touchId: touch.id }), t1.plus({ hours: 1 }));
    const g = await f.store.db.selectFrom('report_touch_engagement').selectAll().where('touch_id', '=', touch.id).executeTakeFirst();
    expect(g).toEqual({ touch_id: touch.id, opened_at: t1.toJSDate(), clicked_at: null });

    const t2 = T0.plus({ days: 2 });
    await applyEvent(f.deps, ev('a@example.com', 'a4', 'info_requested', t2), t2);
    expect(await rollup('a@example.com')).toMatchObject({ reached: 3, lead_at: t2.toJSDate(), conversation_at: null });

    // Sales' call to the new lead, done with a conversation outcome.
    const task = await f.store.db.selectFrom('tasks').innerJoin('contacts', 'contacts.id', 'tasks.contact_id').select('tasks.id').where('email', '=', 'a@example.com').where('kind', '=', 'call').executeTakeFirstOrThrow();
    const t3 = T0.plus({ days: 3 });
    await completeTask(appContextFor(f.deps), task.id, 'connected', t3);
    expect((await rollup('a@example.com'))?.conversation_at).toEqual(t3.toJSDate());

    const now = T0.plus({ days: 10 }).toJSDate();
    const funnel = await funnelReport(f.store.db, { now });
    expect(funnel.total.steps.map((s) => s.contacts)).toEqual([2, 1, 1, 1, 0]);
    const ttl = await timeToLeadReport(f.store.db, { now });
    expect(ttl.toLead.summary.medianSeconds).toBe(2 * 24 * 3600);
    expect(ttl.toConversation.summary.medianSeconds).toBe(3 * 24 * 3600);
    const seqs = await sequencesReport(f.store.db, { now });
    const welcome = seqs.sequences.find((s) => s.sequenceId === 'welcome')!;
    expect(welcome.steps.find((s) => s.stepId === 'welcome')).toMatchObject({ entered: 2, opened: 1, converted: 1 });
    expect(welcome.steps.find((s) => s.stepId === 'welcome-wait')?.exitReasons.map((r) => r.enrollments)).toEqual([1]);
  });

  it('hold whatever order rows arrive in: a late earlier opt-in, a stage before the opt-in, a deleted opt-in', async () => {
    const db = f.store.db;
    const { id } = await db.insertInto('contacts').values({ email: 'late@example.com', attributes: '{}', tags: '[]' }).returning('id').executeTakeFirstOrThrow();
    const at = (h: number) => T0.plus({ hours: h }).toJSDate();
    // Engaged before any opt-in: not counted until an opt-in precedes it.
    await db.insertInto('stage_changes').values({ contact_id: id, kind: 'stage', from_stage: 'subscriber', to_stage: 'engaged', reason: 'test', event_id: null, at: at(5) }).execute();
    const en = await db
      .insertInto('enrollments')
      .values({ contact_id: id, sequence_id: 'other', sequence_version: 'v', status: 'active', exit_reason: null, state: '{}', step_id: null, next_wake_at: null, last_error: null, quarantined_at: null, enrolled_at: at(0), ended_at: null })
      .returning('id')
      .executeTakeFirstOrThrow();
    // Two iterations of a step inside a repeat: one enrollment entered it, two emails went out.
    for (const n of [1, 2]) {
      await db
        .insertInto('touches')
        .values({ key: `${en.id}/monthly#${n}`, enrollment_id: en.id, contact_id: id, sequence_id: 'other', step_id: 'monthly', kind: 'email', template: 'monthly', status: 'sent', message_id: null, subject: null, error: null, due_at: at(n), sent_at: at(n), failed_at: null })
        .execute();
    }
    const other = (await sequencesReport(db, { now: at(100), sequence: 'other' })).sequences[0]!;
    expect(other.steps.map((s) => [s.stepId, s.entered, s.sent])).toEqual([['monthly', 1, 2]]);
    expect(await rollup('late@example.com')).toBeUndefined();
    await db.insertInto('events').values({ id: 'l2', contact_id: id, type: 'opt_in', occurred_at: at(6), data: JSON.stringify({ source: 'later' }) }).execute();
    expect(await rollup('late@example.com')).toMatchObject({ opted_in_at: at(6), source: 'later', reached: 0, sequences: ['other'] });
    await db.insertInto('events').values({ id: 'l1', contact_id: id, type: 'opt_in', occurred_at: at(1), data: JSON.stringify({ source: 'first' }) }).execute();
    expect(await rollup('late@example.com')).toMatchObject({ opted_in_at: at(1), source: 'first', reached: 1 });
    await db.insertInto('stage_changes').values({ contact_id: id, kind: 'stage', from_stage: 'engaged', to_stage: 'lead', reason: 'test', event_id: null, at: at(8) }).execute();
    await db.insertInto('events').values({ id: 'l3', contact_id: id, type: 'appointment_requested', occurred_at: at(7), data: '{}' }).execute();
    expect(await rollup('late@example.com')).toMatchObject({ reached: 3, lead_at: at(8), conversation_at: at(7) });
    await db.deleteFrom('events').where('id', '=', 'l1').execute();
    expect(await rollup('late@example.com')).toMatchObject({ opted_in_at: at(6), source: 'later', reached: 3, lead_at: at(8), conversation_at: at(7) });
    await db.deleteFrom('events').where('id', '=', 'l2').execute();
    expect(await rollup('late@example.com')).toBeUndefined();
  });
  it('leave report_contacts to the catch-up: a write names the contact, a report reads it caught up, a catch-up rolled back loses no name', async () => {
    const db = f.store.db;
    await catchUpReportRollups(db);
    const t = T0.plus({ days: 20 });
    await applyEvents(f.deps, [ev('c@example.com', 'c1', 'opt_in', t, { source: 'radio' }), ev('d@example.com', 'd1', 'opt_in', t)], t);
    // Named (by the opt-in and by the enrollment, whose sequence no row lists yet), not recomputed yet.
    const named = await db.selectFrom('report_pending').innerJoin('contacts', 'contacts.id', 'report_pending.contact_id').select('email').orderBy('email').execute();
    expect(named.map((r) => r.email)).toEqual(['c@example.com', 'c@example.com', 'd@example.com', 'd@example.com']);
    expect(await rolledUp('c@example.com')).toBeUndefined();
    // A catch-up that fails after taking the names gives them back.
    await expect(
      db.transaction().execute(async (tx) => {
        await catchUpReportRollups(tx);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await db.selectFrom('report_pending').select(db.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).toEqual({ n: '4' });
    // A report catches up before it reads: both contacts are counted, from radio and from no source.
    const funnel = await funnelReport(db, { now: t.plus({ days: 1 }).toJSDate(), since: t.toJSDate() });
    expect(funnel.total.steps[0]?.contacts).toBe(2);
    expect(funnel.bySource.map((s) => [s.source, s.steps[0]?.contacts]).sort()).toEqual([['(none)', 1], ['radio', 1]]);
    expect(await rolledUp('c@example.com')).toMatchObject({ opted_in_at: t.toJSDate(), source: 'radio', sequences: ['welcome'] });
    expect(await db.selectFrom('report_pending').select(db.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).toEqual({ n: '0' });
  });
  it("are caught up by the engine's own loop, and the backlog it leaves is what /metrics reports", async () => {
    const db = f.store.db;
    await catchUpReportRollups(db);
    const t = T0.plus({ days: 30 });
    await applyEvents(f.deps, [ev('e@example.com', 'e1', 'opt_in', t), ev('g@example.com', 'g1', 'opt_in', t)], t);
    // Two names each: the opt-in's and the enrollment's.
    expect(await reportBacklog(db)).toBe(4);
    const loop = new ReportCatchUp(appContextFor(f.deps), { log: createLogger('silent'), intervalMs: 20 });
    loop.start();
    try {
      for (let i = 0; i < 250 && (await reportBacklog(db)) > 0; i++) await new Promise((r) => setTimeout(r, 20));
    } finally {
      await loop.stop();
    }
    expect(await reportBacklog(db)).toBe(0);
    expect(await rolledUp('e@example.com')).toMatchObject({ opted_in_at: t.toJSDate(), sequences: ['welcome'] });
    expect(await rolledUp('g@example.com')).toMatchObject({ opted_in_at: t.toJSDate() });
  });
});
