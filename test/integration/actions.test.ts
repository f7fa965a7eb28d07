import { DateTime } from 'luxon';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyEvent } from '../../src/engine/apply-event.js';
import { wakeEnrollment } from '../../src/engine/wake-enrollment.js';
import { useEngineFixture } from '../support/engine-fixture.js';

/**
 * The action steps (tag, untag, set, notify, start, if) and goals and exit events, committed by
 * the engine itself on real PostgreSQL and on PGlite. Events are applied directly at fixed
 * instants: no queues, no waiting.
 */

const MAIN = `
id: main
trigger: { event: opt_in }
steps:
  - email: welcome
  - tag: [engaged, newsletter]
  - untag: newsletter
  - set: { stage: warm, score_hint: 3 }
  - notify: { note: "Warm prospect", to: sales }
  - start: second
  - if: { tag: engaged }
    then:
      - email: guide
    else:
      - email: nudge
`;

const SECOND = `
id: second
trigger: { event: never_sent }
steps:
  - email: monthly
`;

const GOAL_SEQ = `
id: goal-seq
trigger: { event: opt_in, where: { source: shop } }
goals: [ { event: purchase } ]
exit: [ { event: custom.left, where: { reason: [moved, not_interested] } } ]
steps:
  - wait: 60 days
  - email: monthly
`;

const T0 = DateTime.fromISO('2026-11-23T15:00:00Z', { zone: 'utc' }); // a Monday
const T1 = T0.plus({ days: 3 });
const T2 = T0.plus({ days: 10 });

describe.each(['postgres', 'pglite'] as const)('action steps, goals and exits (%s)', (kind) => {
  const f = useEngineFixture(kind, [MAIN, SECOND, GOAL_SEQ]);

  const send = (id: string, type: string, email: string, data: Record<string, unknown>, at: DateTime) =>
    applyEvent(f.deps, { id, type, occurredAt: at.toISO()!, contact: { email, firstName: 'Ann', lastName: 'Lee', phone: '+15555550100' }, data }, at);

  const contactOf = (email: string) => f.store.db.selectFrom('contacts').selectAll().where('email', '=', email).executeTakeFirstOrThrow();
  const enrollmentsOf = async (email: string) => {
    const c = await contactOf(email);
    return f.store.db.selectFrom('enrollments').selectAll().where('contact_id', '=', c.id).orderBy('sequence_id').execute();
  };
  const enrollmentIn = async (email: string, sequenceId: string) => {
    const found = (await enrollmentsOf(email)).filter((e) => e.sequence_id === sequenceId);
    expect(found, `enrollments of ${email} in ${sequenceId}`).toHaveLength(1);
    return found[0]!;
  };
  const touchesOf = async (email: string) => {
    const c = await contactOf(email);
    return f.store.db.selectFrom('touches').selectAll().where('contact_id', '=', c.id).execute();
  };
  const tasksOf = async (email: string) => {
    const c = await contactOf(email);
    return f.store.db.selectFrom('tasks').selectAll().where('contact_id', '=', c.id).execute();
  };

  describe('an opt-in runs every action step of main', () => {
    const ann = 'ann@example.com';
    let firstResult: Awaited<ReturnType<typeof send>>;

    beforeAll(async () => {
      firstResult = await send('ann-opt-in-1', 'opt_in', ann, { source: 'website' }, T0);
    });

    it('enrolls the contact in main only (the goal sequence wants another source)', async () => {
      expect(firstResult.status).toBe('applied');
      const main = await enrollmentIn(ann, 'main');
      expect(firstResult.enrolled).toEqual([main.id]);
      expect((await enrollmentsOf(ann)).map((e) => e.sequence_id)).toEqual(['main', 'second']);
    });

    it('tag then untag leaves only the tag that was not removed', async () => {
      expect((await contactOf(ann)).tags).toEqual(['engaged']);
    });

    it('set stores the attributes with their types', async () => {
      expect((await contactOf(ann)).attributes).toEqual({ stage: 'warm', score_hint: 3 });
    });

    it('notify makes a notice task for the named team, tied to its touch', async () => {
      const main = await enrollmentIn(ann, 'main');
      const notices = (await tasksOf(ann)).filter((t) => t.kind === 'notice');
      expect(notices).toHaveLength(1);
      const notice = notices[0]!;
      expect(notice).toMatchObject({ status: 'open', priority: 'normal', enrollment_id: main.id, note: 'Warm prospect' });
      expect(notice.title).toContain('(for sales)');
      expect(notice.title).toContain(ann);
      const touch = (await touchesOf(ann)).find((t) => t.id === notice.touch_id);
      expect(touch).toMatchObject({ kind: 'notify', status: 'done', enrollment_id: main.id, sequence_id: 'main' });
      expect(await tasksOf(ann)).toHaveLength(1);
    });

    it('start enrolls the contact in the second sequence, which sends its monthly email', async () => {
      const second = await enrollmentIn(ann, 'second');
      expect(second).toMatchObject({ status: 'completed', exit_reason: 'completed' });
      expect(second.enrolled_at.toISOString()).toBe(T0.toJSDate().toISOString());
      expect(firstResult.enrolled).not.toContain(second.id);
      const touches = (await touchesOf(ann)).filter((t) => t.enrollment_id === second.id);
      expect(touches.map((t) => [t.kind, t.template, t.status, t.sequence_id])).toEqual([['email', 'monthly', 'pending', 'second']]);
    });

    it('the if took its then branch: the tag set earlier in the run is seen', async () => {
      const main = await enrollmentIn(ann, 'main');
      expect(main).toMatchObject({ status: 'completed', exit_reason: 'completed' });
      const templates = (await touchesOf(ann)).filter((t) => t.enrollment_id === main.id && t.kind === 'email').map((t) => t.template);
      expect(templates.sort()).toEqual(['guide', 'welcome']);
      expect((await touchesOf(ann)).filter((t) => t.template === 'nudge')).toEqual([]);
    });

    it('every touch has its own key, and every email is queued for sending', async () => {
      const touches = await touchesOf(ann);
      expect(touches).toHaveLength(4); // welcome, notify, guide in main; monthly in second
      const keys = touches.map((t) => t.key);
      expect(new Set(keys).size).toBe(keys.length);
      for (const t of touches) expect(t.key.startsWith(`${t.enrollment_id}/`)).toBe(true);
      const emails = touches.filter((t) => t.kind === 'email').map((t) => t.id);
      expect(firstResult.after.sends.map((s) => s.touchId).sort()).toEqual(emails.sort());
    });

    it('a second opt-in does not enroll the contact in main again (reentry: once)', async () => {
      const before = await touchesOf(ann);
      const r = await send('ann-opt-in-2', 'opt_in', ann, { source: 'website' }, T1);
      expect(r).toMatchObject({ status: 'applied', enrolled: [] });
      expect((await enrollmentsOf(ann)).map((e) => e.sequence_id)).toEqual(['main', 'second']);
      expect(await touchesOf(ann)).toHaveLength(before.length);
      expect(await tasksOf(ann)).toHaveLength(1);
      expect((await contactOf(ann)).tags).toEqual(['engaged']);
    });

    it('the same opt-in delivered again is a duplicate', async () => {
      // The same body, occurredAt included: another occurredAt under this id would be a conflict.
      const r = await send('ann-opt-in-1', 'opt_in', ann, { source: 'website' }, T0);
      expect(r.status).toBe('duplicate');
      expect((await enrollmentsOf(ann)).map((e) => e.sequence_id)).toEqual(['main', 'second']);
    });
  });

  describe('goals and exit events', () => {
    it('a goal event converts the enrollment, and its pending wake does nothing', async () => {
      const bob = 'bob@example.com';
      await send('bob-opt-in', 'opt_in', bob, { source: 'shop' }, T0);
      const waiting = await enrollmentIn(bob, 'goal-seq');
      expect(waiting).toMatchObject({ status: 'active', exit_reason: null });
      expect(waiting.next_wake_at?.toISOString()).toBe(T0.plus({ days: 60 }).toJSDate().toISOString());

      const r = await send('bob-purchase', 'purchase', bob, { sku: 'x-1' }, T1);

      expect(r.status).toBe('applied');
      const converted = await enrollmentIn(bob, 'goal-seq');
      expect(converted).toMatchObject({ status: 'converted', exit_reason: 'goal:purchase', next_wake_at: null });
      expect(converted.ended_at?.toISOString()).toBe(T1.toJSDate().toISOString());
      // main ran to its end at the opt-in; the purchase changes nothing there.
      expect(await enrollmentIn(bob, 'main')).toMatchObject({ status: 'completed' });

      const wake = await wakeEnrollment(f.deps, waiting.id, waiting.wake_version, T0.plus({ days: 60 }));
      expect(wake.status).toBe('stale');
      expect((await touchesOf(bob)).filter((t) => t.sequence_id === 'goal-seq')).toEqual([]);
    });

    it('an exit event with matching data exits the enrollment; other data does not', async () => {
      const cat = 'cat@example.com';
      await send('cat-opt-in', 'opt_in', cat, { source: 'shop' }, T0);

      await send('cat-left-1', 'custom.left', cat, { reason: 'too_many_emails' }, T1);
      expect(await enrollmentIn(cat, 'goal-seq')).toMatchObject({ status: 'active', exit_reason: null });

      await send('cat-left-2', 'custom.left', cat, { reason: 'moved' }, T2);
      const exited = await enrollmentIn(cat, 'goal-seq');
      expect(exited).toMatchObject({ status: 'exited', exit_reason: 'exit:custom.left', next_wake_at: null });
      expect(exited.ended_at?.toISOString()).toBe(T2.toJSDate().toISOString());
      expect((await touchesOf(cat)).filter((t) => t.sequence_id === 'goal-seq')).toEqual([]);
    });

    it('without a goal or an exit, the long wait ends in the monthly email', async () => {
      const dan = 'dan@example.com';
      await send('dan-opt-in', 'opt_in', dan, { source: 'shop' }, T0);
      const waiting = await enrollmentIn(dan, 'goal-seq');

      const due = T0.plus({ days: 60 });
      expect((await wakeEnrollment(f.deps, waiting.id, waiting.wake_version, due.minus({ minutes: 1 }))).status).toBe('early');
      const wake = await wakeEnrollment(f.deps, waiting.id, waiting.wake_version, due);

      expect(wake).toMatchObject({ status: 'advanced', outcome: 'completed' });
      expect(await enrollmentIn(dan, 'goal-seq')).toMatchObject({ status: 'completed', exit_reason: 'completed' });
      const touches = (await touchesOf(dan)).filter((t) => t.sequence_id === 'goal-seq');
      expect(touches.map((t) => [t.kind, t.template, t.status])).toEqual([['email', 'monthly', 'pending']]);
      expect(touches[0]!.due_at.toISOString()).toBe(due.toJSDate().toISOString());
    });
  });
});
