import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeTask as markTaskDone } from '../../src/db/task-repository.js';
import { applyEvent } from '../../src/engine/apply-event.js';
import type { EngineDeps } from '../../src/engine/engine-deps.js';
import { completeTask, taskOutcomeEventId } from '../../src/app/complete-task.js';
import { ConflictError, NotFoundError, UnknownOutcomeError } from '../../src/errors.js';
import { programFromYaml } from '../support/programs.js';
import type { TestStore } from '../support/postgres.js';
import { appContextFor, createTestDeps } from '../support/engine.js';
import { createTestStore } from '../support/postgres.js';

/** completeTask against real PostgreSQL, with contacts and tasks made by the engine itself. */

const SEQUENCE = `
id: nurture
trigger: { event: opt_in }
steps:
  - email: welcome
  - postcard: hello-postcard
  - call: { note: "Intro call", due: 1 day }
  - wait: 30 days
  - email: monthly
`;

const T0 = DateTime.fromISO('2026-11-23T10:00:00Z', { zone: 'utc' }); // a Monday
const LATER = T0.plus({ hours: 2 });

describe('completeTask', () => {
  let store: TestStore;
  let templatesDir: string;
  let deps: EngineDeps;

  const contactOf = (email: string) => store.db.selectFrom('contacts').selectAll().where('email', '=', email).executeTakeFirstOrThrow();
  const tasksOf = async (email: string) => {
    const c = await contactOf(email);
    return store.db.selectFrom('tasks').selectAll().where('contact_id', '=', c.id).orderBy('id').execute();
  };
  const enrollmentsOf = async (email: string) => {
    const c = await contactOf(email);
    return store.db.selectFrom('enrollments').selectAll().where('contact_id', '=', c.id).execute();
  };
  const taskOf = async (email: string, kind: string) => {
    const t = (await tasksOf(email)).find((x) => x.kind === kind);
    if (!t) throw new Error(`no ${kind} task for ${email}`);
    return t;
  };
  const optIn = (email: string, firstName: string) =>
    applyEvent(deps, { id: `opt-in-${email}`, type: 'opt_in', occurredAt: T0.toISO()!, contact: { email, firstName, phone: '+15555550100' }, data: {} }, T0);

  beforeAll(async () => {
    store = await createTestStore('postgres');
    templatesDir = await mkdtemp(path.join(tmpdir(), 'nurture-complete-task-'));
    await writeFile(path.join(templatesDir, 'welcome.hbs'), '---\nsubject: Welcome\n---\n<p>Hi {{default firstName "there"}}</p>\n');
    await writeFile(path.join(templatesDir, 'monthly.hbs'), '---\nsubject: This month\n---\n<p>News</p>\n');
    await writeFile(path.join(templatesDir, 'hello-postcard.hbs'), '<p>Dear {{default firstName "friend"}}, hello from us.</p>\n');
    ({ deps } = await createTestDeps(store.db, [{ file: 'nurture.yaml', program: programFromYaml(SEQUENCE, 'nurture.yaml') }], templatesDir));
    for (const [email, name] of [
      ['ann@example.com', 'Ann'],
      ['bob@example.com', 'Bob'],
      ['cat@example.com', 'Cat'],
      ['dan@example.com', 'Dan'],
    ] as const) {
      const r = await optIn(email, name);
      expect(r.status).toBe('applied');
    }
  });

  afterAll(async () => {
    await store?.cleanup();
    if (templatesDir) await rm(templatesDir, { recursive: true, force: true });
  });

  it('a call booked as an appointment promotes the contact, ends nurture and creates a high-priority lead call', async () => {
    const call = await taskOf('ann@example.com', 'call');
    expect(call).toMatchObject({ status: 'open', priority: 'normal' });

    const r = await completeTask(appContextFor(deps), call.id, 'appointment_booked', LATER);

    expect(r).toMatchObject({ promoted: true, alreadyDone: false, appointment: 'applied', contactStatus: 'lead', contactEmail: 'ann@example.com' });
    expect(r.task).toMatchObject({ id: call.id, status: 'done', outcome: 'appointment_booked' });
    const ann = await contactOf('ann@example.com');
    expect(ann).toMatchObject({ status: 'lead', promotion_reason: 'event:appointment_requested' });
    expect(ann.promoted_at?.toISOString()).toBe(LATER.toJSDate().toISOString());

    const enrollments = await enrollmentsOf('ann@example.com');
    expect(enrollments.map((e) => [e.status, e.exit_reason])).toEqual([['exited', 'promoted']]);
    expect(r.endedEnrollments).toEqual(enrollments.map((e) => e.id));

    const tasks = await tasksOf('ann@example.com');
    const lead = tasks.find((t) => t.id === r.leadTaskId);
    expect(lead).toMatchObject({ kind: 'call', priority: 'high', status: 'open', touch_id: null, enrollment_id: null });
    expect(lead!.due_at.toISOString()).toBe(LATER.plus({ hours: 1 }).toJSDate().toISOString());
    // The nurture postcard nobody mailed yet is cancelled; the completed call keeps its outcome.
    expect(tasks.find((t) => t.kind === 'postcard')).toMatchObject({ status: 'cancelled' });
    expect(tasks.find((t) => t.id === call.id)).toMatchObject({ status: 'done', outcome: 'appointment_booked' });

    const event = await store.db.selectFrom('events').selectAll().where('id', '=', taskOutcomeEventId(call.id)).executeTakeFirstOrThrow();
    expect(event).toMatchObject({ type: 'appointment_requested', contact_id: ann.id });
    expect(event.data).toEqual({ source: 'call', taskId: call.id, outcome: 'appointment_booked' });
  });

  it('completing it again with the same outcome is a no-op: no second lead call', async () => {
    const call = await taskOf('ann@example.com', 'call');
    const before = await tasksOf('ann@example.com');

    const r = await completeTask(appContextFor(deps), call.id, 'appointment_booked', LATER.plus({ minutes: 5 }));

    expect(r).toMatchObject({ alreadyDone: true, appointment: 'duplicate', promoted: false, contactStatus: 'lead' });
    expect(r.leadTaskId).toBeUndefined();
    const after = await tasksOf('ann@example.com');
    expect(after).toEqual(before);
    expect(after.filter((t) => t.kind === 'call' && t.priority === 'high')).toHaveLength(1);
    expect((await contactOf('ann@example.com')).promoted_at?.toISOString()).toBe(LATER.toJSDate().toISOString());
  });

  it('a different outcome on a done task is a conflict, and changes nothing', async () => {
    const call = await taskOf('ann@example.com', 'call');
    await expect(completeTask(appContextFor(deps), call.id, 'left_voicemail', LATER)).rejects.toThrow(ConflictError);
    await expect(completeTask(appContextFor(deps), call.id, 'left_voicemail', LATER)).rejects.toThrow(
      `task ${call.id} is already done with outcome "appointment_booked"`,
    );
    expect(await taskOf('ann@example.com', 'call')).toMatchObject({ status: 'done', outcome: 'appointment_booked' });
  });

  it('a cancelled task cannot be completed', async () => {
    const postcard = await taskOf('ann@example.com', 'postcard');
    expect(postcard.status).toBe('cancelled');
    await expect(completeTask(appContextFor(deps), postcard.id, 'sent', LATER)).rejects.toThrow(ConflictError);
  });

  it('an unknown task is NotFound', async () => {
    await expect(completeTask(appContextFor(deps), 999_999, 'sent', LATER)).rejects.toThrow(NotFoundError);
  });

  it('a postcard cannot be completed with a call outcome: refused with its outcomes, nothing changes', async () => {
    const postcard = await taskOf('bob@example.com', 'postcard');

    const refused = completeTask(appContextFor(deps), postcard.id, 'appointment_booked', LATER);
    await expect(refused).rejects.toThrow(UnknownOutcomeError);
    await expect(completeTask(appContextFor(deps), postcard.id, 'mailed', LATER)).rejects.toThrow(
      `task ${postcard.id}: "mailed" is not an outcome of a postcard task (one of: sent, returned)`,
    );

    expect(await taskOf('bob@example.com', 'postcard')).toMatchObject({ status: 'open', outcome: null });
    expect((await contactOf('bob@example.com')).status).toBe('subscriber');
    const events = await store.db.selectFrom('events').select('id').where('id', 'in', [taskOutcomeEventId(postcard.id), `task-${postcard.id}-completed`]).execute();
    expect(events).toEqual([]);
  });

  it('a call with an outcome that is no appointment completes without promoting', async () => {
    const call = await taskOf('cat@example.com', 'call');

    const r = await completeTask(appContextFor(deps), call.id, ' left_voicemail ', LATER);

    expect(r).toMatchObject({ promoted: false, appointment: null, contactStatus: 'subscriber' });
    expect(await taskOf('cat@example.com', 'call')).toMatchObject({ status: 'done', outcome: 'left_voicemail' });
    expect((await enrollmentsOf('cat@example.com')).map((e) => e.status)).toEqual(['active']);
  });

  it('re-running heals a crash between marking the task done and applying the appointment', async () => {
    const call = await taskOf('dan@example.com', 'call');
    // The first transaction committed, then the process died before the event was applied.
    await markTaskDone(store.db, call.id, 'appointment_booked', LATER.toJSDate());
    expect((await contactOf('dan@example.com')).status).toBe('subscriber');

    const r = await completeTask(appContextFor(deps), call.id, 'appointment_booked', LATER.plus({ minutes: 1 }));

    expect(r).toMatchObject({ alreadyDone: true, appointment: 'applied', promoted: true, contactStatus: 'lead' });
    expect(r.leadTaskId).toBeTypeOf('number');
    expect((await tasksOf('dan@example.com')).filter((t) => t.kind === 'call' && t.priority === 'high')).toHaveLength(1);
  });
});
