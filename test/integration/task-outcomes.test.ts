import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeTask, taskCompletedEventId } from '../../src/app/complete-task.js';
import type { AppContext } from '../../src/app/context.js';
import { runTaskDone } from '../../src/cli/tasks.js';
import { applyEvent } from '../../src/engine/apply-event.js';
import type { EngineDeps } from '../../src/engine/engine-deps.js';
import { UnknownOutcomeError } from '../../src/errors.js';
import type { OutcomeMap } from '../../src/staff/outcomes.js';
import { taskById } from '../../src/queries/tasks.js';
import { programFromYaml } from '../support/programs.js';
import type { TestStore } from '../support/postgres.js';
import { appContextFor, createTestDeps } from '../support/engine.js';
import { createTestStore } from '../support/postgres.js';

/**
 * Task outcomes against real PostgreSQL: each outcome is a task_completed event sequences react
 * to, and some change the contact (a returned address, a wrong number, not interested).
 */

const RETRY = `
id: retry
trigger: { event: opt_in, where: { source: retry } }
steps:
  - call: { note: "Intro call", due: 1 day }
    id: intro-call
  - wait_for: { event: task_completed, step: intro-call, where: { outcome: no_answer }, timeout: 7 days }
    on_event:
      - call: { note: "No answer last time: try again", due: 2 days }
        id: retry-call
`;

const MAIL = `
id: mail
trigger: { event: opt_in, where: { source: mail } }
steps:
  - letter: offer
  - postcard: hello
  - wait_for: { event: task_completed, step: hello, timeout: 30 days }
    on_event:
      - postcard: second
      - call: "Ask for the right address"
`;

const NURTURE = `
id: nurture
trigger: { event: opt_in, where: { source: nurture } }
steps:
  - email: welcome
  - postcard: hello
  - call: { note: "Intro call", due: 1 day }
  - wait: 30 days
  - email: welcome
`;

const NEWS = `
id: news
trigger: { event: opt_in, where: { source: nurture } }
steps:
  - notify: { note: "New subscriber", to: sales }
  - wait: 60 days
  - email: welcome
`;

const T0 = DateTime.fromISO('2026-11-23T10:00:00Z', { zone: 'utc' }); // a Monday
const LATER = T0.plus({ hours: 2 });
const VIEW = { now: LATER, zone: 'UTC' };

describe('task outcomes', () => {
  let store: TestStore;
  let templatesDir: string;
  let deps: EngineDeps;
  let ctx: AppContext;

  const contactOf = (email: string) => store.db.selectFrom('contacts').selectAll().where('email', '=', email).executeTakeFirstOrThrow();
  const tasksOf = async (email: string) => {
    const c = await contactOf(email);
    return store.db.selectFrom('tasks').selectAll().where('contact_id', '=', c.id).orderBy('id').execute();
  };
  const touchesOf = async (email: string) => {
    const c = await contactOf(email);
    return store.db.selectFrom('touches').selectAll().where('contact_id', '=', c.id).orderBy('created_at').orderBy('step_id').execute();
  };
  const enrollmentsOf = async (email: string) => {
    const c = await contactOf(email);
    return store.db.selectFrom('enrollments').selectAll().where('contact_id', '=', c.id).orderBy('sequence_id').execute();
  };
  const taskOf = async (email: string, kind: string, nth = 0) => {
    const t = (await tasksOf(email)).filter((x) => x.kind === kind)[nth];
    if (!t) throw new Error(`no ${kind} task #${nth} for ${email}`);
    return t;
  };
  const optIn = async (email: string, source: string) => {
    const r = await applyEvent(
      deps,
      {
        id: `opt-in-${email}`,
        type: 'opt_in',
        occurredAt: T0.toISO()!,
        contact: {
          email,
          firstName: email.split('@')[0]!,
          phone: '+15555550100',
          address: { line1: '1 Main St', city: 'Springfield', postalCode: '62701', country: 'US' },
        },
        data: { source },
      },
      T0,
    );
    expect(r.status).toBe('applied');
  };

  beforeAll(async () => {
    store = await createTestStore('postgres');
    templatesDir = await mkdtemp(path.join(tmpdir(), 'nurture-task-outcomes-'));
    await writeFile(path.join(templatesDir, 'welcome.hbs'), '---\nsubject: Welcome\n---\n<p>Hi {{default firstName "there"}}</p>\n');
    for (const name of ['offer', 'hello', 'second']) await writeFile(path.join(templatesDir, `${name}.hbs`), `<p>Dear {{default firstName "friend"}}: ${name}.</p>\n`);
    ({ deps } = await createTestDeps(
      store.db,
      [
        { file: 'retry.yaml', program: programFromYaml(RETRY, 'retry.yaml') },
        { file: 'mail.yaml', program: programFromYaml(MAIL, 'mail.yaml') },
        { file: 'nurture.yaml', program: programFromYaml(NURTURE, 'nurture.yaml') },
        { file: 'news.yaml', program: programFromYaml(NEWS, 'news.yaml') },
      ],
      templatesDir,
    ));
    ctx = appContextFor(deps);
    for (const email of ['ann@example.com', 'bea@example.com']) await optIn(email, 'retry');
    await optIn('cal@example.com', 'mail');
    for (const email of ['dee@example.com', 'eve@example.com']) await optIn(email, 'nurture');
  });

  afterAll(async () => {
    await store?.cleanup();
    if (templatesDir) await rm(templatesDir, { recursive: true, force: true });
  });

  describe('a sequence waiting for a call outcome', () => {
    it('no_answer on the call its wait_for names creates the retry call, through a task_completed event', async () => {
      const call = await taskOf('ann@example.com', 'call');

      const r = await completeTask(ctx, call.id, 'No Answer', LATER, { actor: 'rep@example.com', note: 'rang 8 times' });

      expect(r).toMatchObject({ outcome: 'no_answer', alreadyDone: false, appointment: null, promoted: false, completion: { status: 'applied' } });
      const calls = (await tasksOf('ann@example.com')).filter((t) => t.kind === 'call');
      expect(calls).toHaveLength(2);
      expect(calls[0]).toMatchObject({ id: call.id, status: 'done', outcome: 'no_answer' });
      expect(calls[0]!.first_attempt_at?.toISOString()).toBe(LATER.toJSDate().toISOString());
      expect(calls[0]!.first_connected_at).toBeNull();
      expect(calls[1]).toMatchObject({ status: 'open', note: 'No answer last time: try again' });
      expect(calls[1]!.due_at.toISOString()).toBe(LATER.plus({ days: 2 }).toJSDate().toISOString());
      expect(r.createdTasks).toEqual([{ id: calls[1]!.id, kind: 'call', enrollmentId: calls[0]!.enrollment_id }]);

      const event = await store.db.selectFrom('events').selectAll().where('id', '=', taskCompletedEventId(call.id)).executeTakeFirstOrThrow();
      expect(event.type).toBe('task_completed');
      expect(event.occurred_at.toISOString()).toBe(LATER.toJSDate().toISOString());
      expect(event.touch_id).toBe(call.touch_id);
      expect(event.data).toEqual({
        taskId: call.id,
        kind: 'call',
        outcome: 'no_answer',
        title: call.title,
        enrollmentId: call.enrollment_id,
        sequence: 'retry',
        step: 'intro-call',
        touchId: call.touch_id,
      });

      const activity = await store.db.selectFrom('task_activity').selectAll().where('task_id', '=', call.id).execute();
      expect(activity.map((a) => [a.action, a.actor, a.reason, a.detail])).toEqual([['completed', 'rep@example.com', 'rang 8 times', { outcome: 'no_answer' }]]);
    });

    it('completing it again changes nothing: no second retry call, no second activity', async () => {
      const call = await taskOf('ann@example.com', 'call');
      const before = await tasksOf('ann@example.com');

      const r = await completeTask(ctx, call.id, 'no_answer', LATER.plus({ minutes: 10 }));

      expect(r).toMatchObject({ alreadyDone: true, completion: { status: 'duplicate' }, createdTasks: [], cancelledTaskIds: [], endedEnrollments: [] });
      expect(await tasksOf('ann@example.com')).toEqual(before);
      expect(await store.db.selectFrom('task_activity').select('id').where('task_id', '=', call.id).execute()).toHaveLength(1);
    });

    it('another outcome is no match: the sequence waits on and no retry call is made; a conversation sets first_connected_at', async () => {
      const call = await taskOf('bea@example.com', 'call');

      const r = await completeTask(ctx, call.id, 'connected', LATER);

      expect(r.createdTasks).toEqual([]);
      expect(await tasksOf('bea@example.com')).toHaveLength(1);
      const done = await taskOf('bea@example.com', 'call');
      expect(done.first_attempt_at?.toISOString()).toBe(LATER.toJSDate().toISOString());
      expect(done.first_connected_at?.toISOString()).toBe(LATER.toJSDate().toISOString());
      const [activity] = await store.db.selectFrom('task_activity').selectAll().where('task_id', '=', call.id).execute();
      expect(activity).toMatchObject({ action: 'completed', actor: 'cli', reason: null });
      expect((await enrollmentsOf('bea@example.com')).map((e) => [e.status, e.step_id])).toEqual([['active', 'wait_for']]);
    });

    it('a second completion of the retry call does not move a first attempt made earlier', async () => {
      const retry = await taskOf('ann@example.com', 'call', 1);
      await completeTask(ctx, retry.id, 'left_voicemail', LATER.plus({ days: 2 }));
      const [first, second] = (await tasksOf('ann@example.com')).filter((t) => t.kind === 'call');
      expect(first!.first_attempt_at?.toISOString()).toBe(LATER.toJSDate().toISOString());
      expect(second!.first_attempt_at?.toISOString()).toBe(LATER.plus({ days: 2 }).toJSDate().toISOString());
    });
  });

  describe('returned', () => {
    it('flags the address, cancels the open mail pieces and skips later mail steps, visibly', async () => {
      const postcard = await taskOf('cal@example.com', 'postcard');
      const letter = await taskOf('cal@example.com', 'letter');
      expect(letter.status).toBe('open');

      const r = await runTaskDone(ctx, postcard.id, 'returned', VIEW, { note: 'moved away' });

      expect(r.data).toMatchObject({ outcome: 'returned', addressMarkedBad: true, cancelledTaskIds: [letter.id], effects: { markAddressBad: true } });
      const cal = await contactOf('cal@example.com');
      expect(cal.address_bad_at?.toISOString()).toBe(LATER.toJSDate().toISOString());
      const tasks = await tasksOf('cal@example.com');
      expect(tasks.find((t) => t.id === letter.id)).toMatchObject({ status: 'cancelled', outcome: 'cancelled: address returned' });
      expect(tasks.find((t) => t.id === postcard.id)).toMatchObject({ status: 'done', outcome: 'returned' });
      // The wait_for went on: no second postcard task, a skipped touch instead; the call is still made.
      expect(tasks.filter((t) => t.kind === 'postcard')).toHaveLength(1);
      expect(tasks.filter((t) => t.kind === 'call')).toHaveLength(1);
      const second = (await touchesOf('cal@example.com')).find((t) => t.step_id === 'second');
      expect(second).toMatchObject({ kind: 'postcard', template: 'second', status: 'cancelled', error: 'skipped: address returned' });
      // The task shows it, as the CLI's JSON and the inbox read it.
      expect(await taskById(store.db, letter.id)).toMatchObject({ addressBad: true, phoneBad: false });
      const call = tasks.find((t) => t.kind === 'call')!;
      expect(r.text).toBe(
        `task ${postcard.id} done (returned)\n` +
          "  cal@example.com's postal address is marked returned: no more postcards or letters\n" +
          `  1 open task cancelled (#${letter.id})\n` +
          `  a sequence reacting to it created call task ${call.id}`,
      );
    });

    it('again: nothing changes, and the first time stays', async () => {
      const postcard = await taskOf('cal@example.com', 'postcard');
      const before = { tasks: await tasksOf('cal@example.com'), touches: await touchesOf('cal@example.com'), contact: await contactOf('cal@example.com') };

      const r = await runTaskDone(ctx, postcard.id, 'returned', { ...VIEW, now: LATER.plus({ days: 1 }) });

      expect(r.text).toBe(`task ${postcard.id} was already done (returned); nothing changed`);
      expect(await tasksOf('cal@example.com')).toEqual(before.tasks);
      expect(await touchesOf('cal@example.com')).toEqual(before.touches);
      expect((await contactOf('cal@example.com')).address_bad_at).toEqual(before.contact.address_bad_at);
    });
  });

  describe('wrong_number', () => {
    it('flags the phone, shown on the task; again changes nothing', async () => {
      const call = await taskOf('dee@example.com', 'call');

      const r = await runTaskDone(ctx, call.id, 'wrong_number', VIEW);

      expect(r.data).toMatchObject({ phoneMarkedBad: true, task: { phoneBad: true, addressBad: false }, endedEnrollments: [] });
      expect(r.text).toBe(`task ${call.id} done (wrong_number)\n  dee@example.com's phone number is marked wrong`);
      const flagged = (await contactOf('dee@example.com')).phone_bad_at;
      expect(flagged?.toISOString()).toBe(LATER.toJSDate().toISOString());
      // Other tasks of the contact show it too; nurture goes on.
      const postcard = await taskOf('dee@example.com', 'postcard');
      expect(await taskById(store.db, postcard.id)).toMatchObject({ phoneBad: true, status: 'open' });
      expect((await enrollmentsOf('dee@example.com')).map((e) => e.status)).toEqual(['active', 'active']);

      await completeTask(ctx, call.id, 'wrong_number', LATER.plus({ hours: 1 }));
      expect((await contactOf('dee@example.com')).phone_bad_at).toEqual(flagged);
    });
  });

  describe('not_interested', () => {
    it('ends every active enrollment of the contact and cancels its nurture work', async () => {
      const call = await taskOf('eve@example.com', 'call');
      const open = (await tasksOf('eve@example.com')).filter((t) => t.status === 'open' && t.id !== call.id);
      expect(open.map((t) => t.kind).sort()).toEqual(['notice', 'postcard']);
      const enrollments = await enrollmentsOf('eve@example.com');
      expect(enrollments.map((e) => [e.sequence_id, e.status])).toEqual([
        ['news', 'active'],
        ['nurture', 'active'],
      ]);

      const r = await runTaskDone(ctx, call.id, 'not_interested', VIEW, { note: 'bought elsewhere' });

      expect(r.data.endedEnrollments.sort()).toEqual(enrollments.map((e) => e.id).sort());
      expect(r.data.cancelledTaskIds).toEqual(open.map((t) => t.id));
      expect((await enrollmentsOf('eve@example.com')).map((e) => [e.sequence_id, e.status, e.exit_reason])).toEqual([
        ['news', 'exited', 'not_interested'],
        ['nurture', 'exited', 'not_interested'],
      ]);
      const tasks = await tasksOf('eve@example.com');
      expect(tasks.filter((t) => t.id !== call.id).map((t) => [t.status, t.outcome])).toEqual(open.map(() => ['cancelled', 'cancelled: not_interested']));
      expect((await touchesOf('eve@example.com')).filter((t) => t.kind === 'email').map((t) => t.status)).toEqual(['cancelled']);
      expect(r.text).toBe(`task ${call.id} done (not_interested)\n  nurture ended for eve@example.com (2 sequences, not_interested)\n  2 open tasks cancelled (#${open[0]!.id}, #${open[1]!.id})`);
      expect((await taskOf('eve@example.com', 'call')).first_connected_at?.toISOString()).toBe(LATER.toJSDate().toISOString());
    });

    it('again changes nothing, even after the contact was enrolled anew', async () => {
      const call = await taskOf('eve@example.com', 'call');
      // A new enrollment since (a later opt-in of another source): a replay must leave it alone.
      await applyEvent(deps, { id: 'opt-in-eve-again', type: 'opt_in', occurredAt: LATER.toISO()!, contact: { email: 'eve@example.com' }, data: { source: 'retry' } }, LATER);
      const before = { enrollments: await enrollmentsOf('eve@example.com'), tasks: await tasksOf('eve@example.com') };
      expect(before.enrollments.find((e) => e.sequence_id === 'retry')?.status).toBe('active');

      const r = await completeTask(ctx, call.id, 'not_interested', LATER.plus({ hours: 1 }));

      expect(r).toMatchObject({ alreadyDone: true, endedEnrollments: [], cancelledTaskIds: [], completion: { status: 'duplicate' } });
      expect(await enrollmentsOf('eve@example.com')).toEqual(before.enrollments);
      expect(await tasksOf('eve@example.com')).toEqual(before.tasks);
    });
  });

  describe('declared outcomes', () => {
    it('an undeclared outcome is refused with the allowed list and a suggestion; the task stays open', async () => {
      const postcard = await taskOf('dee@example.com', 'postcard');
      const refused = runTaskDone(ctx, postcard.id, 'retuned', VIEW);
      await expect(refused).rejects.toThrow(UnknownOutcomeError);
      await expect(runTaskDone(ctx, postcard.id, 'retuned', VIEW)).rejects.toThrow(
        `task ${postcard.id}: "retuned" is not an outcome of a postcard task: did you mean "returned"? (one of: sent, returned)`,
      );
      expect(await taskOf('dee@example.com', 'postcard')).toMatchObject({ status: 'open', outcome: null });
      expect(await store.db.selectFrom('task_activity').select('id').where('task_id', '=', postcard.id).execute()).toEqual([]);
    });

    it("the team's own lists (ctx.staff.outcomes) replace a kind's defaults", async () => {
      const notice = await taskOf('dee@example.com', 'notice');
      const outcomes: OutcomeMap = { notice: ['handed_over', 'ignored'] };
      // Only the outcomes matter here; the rest of a team directory is another test's business.
      const team: AppContext = { ...ctx, staff: { outcomes } as AppContext['staff'] };

      await expect(completeTask(team, notice.id, 'done', LATER)).rejects.toThrow('(one of: handed_over, ignored)');
      const r = await completeTask(team, notice.id, 'handed over', LATER);

      expect(r).toMatchObject({ outcome: 'handed_over', task: { status: 'done', outcome: 'handed_over' } });
      const event = await store.db.selectFrom('events').selectAll().where('id', '=', taskCompletedEventId(notice.id)).executeTakeFirstOrThrow();
      expect(event.data).toMatchObject({ kind: 'notice', outcome: 'handed_over', sequence: 'news', step: 'notify' });
    });
  });
});
