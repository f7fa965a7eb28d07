import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimTask } from '../../src/app/claim-task.js';
import { completeTask } from '../../src/app/complete-task.js';
import type { AppContext } from '../../src/app/context.js';
import { reassignTask } from '../../src/app/reassign-task.js';
import { snoozeTask } from '../../src/app/snooze-task.js';
import { skipTask } from '../../src/app/skip-task.js';
import { listTasksView, parseTaskFlags, showTask } from '../../src/cli/tasks.js';
import { runClaim, runReassign, runSkip, runSnooze } from '../../src/cli/tasks-work.js';
import { openTaskCounts } from '../../src/db/task-repository.js';
import { applyEvent } from '../../src/engine/apply-event.js';
import type { EngineDeps } from '../../src/engine/engine-deps.js';
import { ConfigError, ConflictError, ForbiddenError, InputError } from '../../src/errors.js';
import { taskDetail, taskList } from '../../src/queries/tasks.js';
import type { TeamDirectory } from '../../src/staff/directory.js';
import { parseTeamDirectory } from '../../src/staff/team-file.js';
import { programFromYaml } from '../support/programs.js';
import type { TestStore } from '../support/postgres.js';
import { appContextFor, createTestDeps } from '../support/engine.js';
import { createTestStore } from '../support/postgres.js';

/** Claim, snooze, reassign and skip against real PostgreSQL, on tasks the engine made; the read models that list them. */

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

const TEAM_YAML = `
zone: UTC
hours: { weekdays: "09:00-17:00" }
teams:
  sales: { manager: carol@example.com }
  office: {}
users:
  bob@example.com: { name: Bob Rivera, teams: [sales] }
  dana@example.com: { name: Dana Kim, teams: [sales] }
  carol@example.com: { name: Carol Okafor, teams: [] }
  olive@example.com: { name: Olive Brandt, teams: [office] }
`;

const T0 = DateTime.fromISO('2026-11-23T10:00:00Z', { zone: 'utc' }); // a Monday
const NOW = T0.plus({ hours: 2 });
const VIEW = { now: NOW, zone: 'UTC' };

describe('staff task actions', () => {
  let store: TestStore;
  let templatesDir: string;
  let deps: EngineDeps;
  let ctx: AppContext;
  let dir: TeamDirectory;

  const contactId = async (email: string) => (await store.db.selectFrom('contacts').select('id').where('email', '=', email).executeTakeFirstOrThrow()).id;
  const taskOf = async (email: string, kind: string) =>
    store.db
      .selectFrom('tasks')
      .selectAll()
      .where('contact_id', '=', await contactId(email))
      .where('kind', '=', kind as 'call')
      .orderBy('id')
      .executeTakeFirstOrThrow();
  const activityOf = (taskId: number) => store.db.selectFrom('task_activity').selectAll().where('task_id', '=', taskId).orderBy('id').execute();
  const place = (taskId: number, set: { assignee?: string | null; team?: string | null; sla_due_at?: Date | null }) =>
    store.db.updateTable('tasks').set(set).where('id', '=', taskId).execute();

  beforeAll(async () => {
    store = await createTestStore('postgres');
    templatesDir = await mkdtemp(path.join(tmpdir(), 'nurture-task-work-'));
    await writeFile(path.join(templatesDir, 'welcome.hbs'), '---\nsubject: Welcome\n---\n<p>Hi {{default firstName "there"}}</p>\n');
    await writeFile(path.join(templatesDir, 'monthly.hbs'), '---\nsubject: This month\n---\n<p>News</p>\n');
    await writeFile(path.join(templatesDir, 'hello-postcard.hbs'), '<p>Dear {{default firstName "friend"}}, hello from us.</p>\n');
    ({ deps } = await createTestDeps(store.db, [{ file: 'nurture.yaml', program: programFromYaml(SEQUENCE, 'nurture.yaml') }], templatesDir));
    const parsed = parseTeamDirectory(TEAM_YAML, 'team.yaml');
    if (!parsed.ok || !parsed.value) throw new Error(`team.yaml: ${JSON.stringify(parsed)}`);
    dir = parsed.value;
    ctx = { ...appContextFor(deps), staff: dir };
    for (const [email, name] of [
      ['ann@example.com', 'Ann'],
      ['ben@example.com', 'Ben'],
      ['cy@example.com', 'Cy'],
      ['dee@example.com', 'Dee'],
      ['eve@example.com', 'Eve'],
    ] as const) {
      const address = { line1: '1 Main St', city: 'Springfield', postalCode: '62701', country: 'US' };
      const r = await applyEvent(deps, { id: `opt-in-${email}`, type: 'opt_in', occurredAt: T0.toISO()!, contact: { email, firstName: name, phone: '+15555550100', address }, data: {} }, T0);
      expect(r.status).toBe('applied');
    }
  });

  afterAll(async () => {
    await store?.cleanup();
    if (templatesDir) await rm(templatesDir, { recursive: true, force: true });
  });

  describe('claim', () => {
    it("a member takes a task from their team's queue: it is theirs, claimed now, and the activity says who and why", async () => {
      const call = await taskOf('ann@example.com', 'call');
      await place(call.id, { team: 'sales', assignee: null });

      const r = await claimTask(ctx, { taskId: call.id, as: 'Bob@Example.com' }, NOW);

      expect(r.changed).toBe(true);
      const after = await taskOf('ann@example.com', 'call');
      expect(after).toMatchObject({ assignee: 'bob@example.com', team: 'sales', assignment_reason: "claimed from team sales's queue" });
      expect(after.claimed_at?.toISOString()).toBe(NOW.toJSDate().toISOString());
      expect(after.assigned_at?.toISOString()).toBe(NOW.toJSDate().toISOString());
      const activity = await activityOf(call.id);
      expect(activity).toHaveLength(1);
      expect(activity[0]).toMatchObject({ actor: 'bob@example.com', action: 'claimed', reason: "claimed from team sales's queue", detail: { team: 'sales' } });
      expect(activity[0]!.at.toISOString()).toBe(NOW.toJSDate().toISOString());
    });

    it('claiming it again is a no-op; someone else claiming it is a conflict that names who has it', async () => {
      const call = await taskOf('ann@example.com', 'call');
      const again = await claimTask(ctx, { taskId: call.id, as: 'bob@example.com' }, NOW.plus({ minutes: 1 }));
      expect(again.changed).toBe(false);

      const err = await claimTask(ctx, { taskId: call.id, as: 'dana@example.com' }, NOW).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConflictError);
      expect((err as Error).message).toContain(`task ${call.id} is claimed by Bob Rivera <bob@example.com> since ${NOW.toJSDate().toISOString()}`);
      expect((await taskOf('ann@example.com', 'call')).assignee).toBe('bob@example.com');
      expect(await activityOf(call.id)).toHaveLength(1);
    });

    it("a claim from another team's queue is refused and changes nothing", async () => {
      const call = await taskOf('ben@example.com', 'call');
      await place(call.id, { team: 'sales', assignee: null });

      const err = await claimTask(ctx, { taskId: call.id, as: 'olive@example.com' }, NOW).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(ForbiddenError);
      expect((err as Error).message).toBe(`task ${call.id} is in team sales's queue: olive@example.com is not in team sales (teams: office)`);
      expect(await taskOf('ben@example.com', 'call')).toMatchObject({ assignee: null, claimed_at: null, team: 'sales' });
      expect(await activityOf(call.id)).toEqual([]);
    });

    it('a task in no queue cannot be claimed; an unknown user gets a did-you-mean; no directory is a config error', async () => {
      const postcard = await taskOf('ben@example.com', 'postcard');
      await expect(claimTask(ctx, { taskId: postcard.id, as: 'bob@example.com' }, NOW)).rejects.toThrow(/is in no team's queue/);
      await expect(claimTask(ctx, { taskId: postcard.id, as: 'bobb@example.com' }, NOW)).rejects.toThrow('no user "bobb@example.com" in team.yaml: did you mean "bob@example.com"?');
      await expect(claimTask(appContextFor(deps), { taskId: postcard.id, as: 'bob@example.com' }, NOW)).rejects.toThrow(ConfigError);
    });
  });

  describe('snooze', () => {
    it('for a duration, with a reason: not due until then, listed after the others, recorded with who and why', async () => {
      const call = await taskOf('cy@example.com', 'call');
      await place(call.id, { team: 'sales', assignee: 'dana@example.com' });

      const r = await snoozeTask(ctx, { taskId: call.id, snooze: { duration: '2 days' }, reason: 'on holiday until Wednesday', actor: 'dana@example.com' }, NOW);

      const until = NOW.plus({ days: 2 }).toJSDate();
      expect(r.until.toISOString()).toBe(until.toISOString());
      expect((await taskOf('cy@example.com', 'call')).snoozed_until?.toISOString()).toBe(until.toISOString());
      const [a] = await activityOf(call.id);
      expect(a).toMatchObject({ actor: 'dana@example.com', action: 'snoozed', reason: 'on holiday until Wednesday', detail: { until: until.toISOString(), previousUntil: null } });

      const calls = await taskList(store.db, { kind: 'call', now: NOW });
      expect(calls.at(-1)!.id).toBe(call.id);
      // Due a day after opt-in, but snoozed: not before the snooze ends.
      expect((await taskList(store.db, { kind: 'call', dueBefore: NOW.plus({ days: 1 }).toJSDate(), now: NOW })).map((t) => t.id)).not.toContain(call.id);
      expect((await taskList(store.db, { kind: 'call', dueBefore: NOW.plus({ days: 3 }).toJSDate(), now: NOW })).map((t) => t.id)).toContain(call.id);
      const view = await listTasksView(store.db, parseTaskFlags({ kind: 'call' }, { ...VIEW, now: NOW.plus({ days: 1, hours: 1 }) }));
      expect(view.text).toContain(`snoozed until ${DateTime.fromJSDate(until, { zone: 'UTC' }).toFormat('yyyy-LL-dd HH:mm')} UTC`);
      expect(view.text).toMatch(/, 1 snoozed\)$/);
      // nurture stats counts it open, and not overdue while snoozed.
      const later = NOW.plus({ days: 1, hours: 1 }).toJSDate();
      const counted = (await openTaskCounts(store.db, later)).find((c) => c.kind === 'call')!;
      const overdueCalls = (await taskList(store.db, { kind: 'call', now: NOW.plus({ days: 1, hours: 1 }) })).filter((t) => Date.parse(t.dueAt) < later.getTime());
      expect(counted.overdue).toBe(overdueCalls.length - 1);
    });

    it('until a time in the past, with no reason, or by a user of another team is refused', async () => {
      const call = await taskOf('cy@example.com', 'call');
      await expect(snoozeTask(ctx, { taskId: call.id, snooze: { until: NOW.minus({ minutes: 1 }).toJSDate() }, reason: 'x', actor: 'cli' }, NOW)).rejects.toThrow(/not after now/);
      await expect(snoozeTask(ctx, { taskId: call.id, snooze: { duration: '1 hour' }, reason: '  ', actor: 'cli' }, NOW)).rejects.toThrow(InputError);
      await expect(snoozeTask(ctx, { taskId: call.id, snooze: { duration: '2 business days' }, reason: 'x', actor: 'cli' }, NOW)).rejects.toThrow(/business days/);
      const err = await snoozeTask(ctx, { taskId: call.id, snooze: { duration: '1 hour' }, reason: 'mine now', actor: 'olive@example.com' }, NOW).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ForbiddenError);
      expect((err as Error).message).toContain('assigned to Dana Kim <dana@example.com>: olive@example.com (teams: office) cannot snooze it');
      expect(await activityOf(call.id)).toHaveLength(1);
    });

    it('the change and its activity row are one transaction: a failed activity insert leaves the task as it was', async () => {
      const call = await taskOf('cy@example.com', 'call');
      const before = await taskOf('cy@example.com', 'call');
      await sql`alter table task_activity add constraint test_no_boom check (reason is distinct from 'boom')`.execute(store.db);
      try {
        await expect(snoozeTask(ctx, { taskId: call.id, snooze: { duration: '5 days' }, reason: 'boom', actor: 'cli' }, NOW)).rejects.toThrow(/test_no_boom/);
      } finally {
        await sql`alter table task_activity drop constraint test_no_boom`.execute(store.db);
      }
      expect((await taskOf('cy@example.com', 'call')).snoozed_until?.toISOString()).toBe(before.snoozed_until?.toISOString());
    });
  });

  describe('reassign', () => {
    it('to an unknown user is an error with a did-you-mean, and changes nothing', async () => {
      const call = await taskOf('dee@example.com', 'call');
      await place(call.id, { team: 'sales', assignee: 'bob@example.com' });
      await expect(reassignTask(ctx, { taskId: call.id, to: { user: 'dnaa@example.com' }, reason: 'x', actor: 'cli' }, NOW)).rejects.toThrow(
        'no user "dnaa@example.com" in team.yaml: did you mean "dana@example.com"?',
      );
      await expect(reassignTask(ctx, { taskId: call.id, to: { team: 'sale' }, reason: 'x', actor: 'cli' }, NOW)).rejects.toThrow('no team "sale" in team.yaml: did you mean "sales"?');
      expect((await taskOf('dee@example.com', 'call')).assignee).toBe('bob@example.com');
    });

    it('to another user, then to a team queue: each recorded with who, why, from and to', async () => {
      const call = await taskOf('dee@example.com', 'call');
      const r = await reassignTask(ctx, { taskId: call.id, to: { user: 'dana@example.com' }, reason: 'Bob is out sick', actor: 'bob@example.com' }, NOW);
      expect(r.changed).toBe(true);
      expect(await taskOf('dee@example.com', 'call')).toMatchObject({ assignee: 'dana@example.com', team: 'sales', claimed_at: null, assignment_reason: 'reassigned by bob@example.com: Bob is out sick' });

      await reassignTask(ctx, { taskId: call.id, to: { team: 'office' }, reason: 'needs a letter, not a call', actor: 'cli' }, NOW.plus({ minutes: 5 }));
      expect(await taskOf('dee@example.com', 'call')).toMatchObject({ assignee: null, team: 'office' });

      const activity = await activityOf(call.id);
      expect(activity.map((a) => [a.actor, a.action, a.reason, a.detail])).toEqual([
        ['bob@example.com', 'reassigned', 'Bob is out sick', { from: { assignee: 'bob@example.com', team: 'sales' }, to: { assignee: 'dana@example.com', team: 'sales' } }],
        ['cli', 'reassigned', 'needs a letter, not a call', { from: { assignee: 'dana@example.com', team: 'sales' }, to: { assignee: null, team: 'office' } }],
      ]);
      const again = await reassignTask(ctx, { taskId: call.id, to: { team: 'office' }, reason: 'again', actor: 'cli' }, NOW);
      expect(again.changed).toBe(false);
      expect(await activityOf(call.id)).toHaveLength(2);
    });

    it("a user given a task outside their teams takes it into their own team; the team's manager may move its tasks", async () => {
      const call = await taskOf('dee@example.com', 'call');
      await reassignTask(ctx, { taskId: call.id, to: { user: 'bob@example.com' }, reason: 'back to sales', actor: 'olive@example.com' }, NOW);
      expect(await taskOf('dee@example.com', 'call')).toMatchObject({ assignee: 'bob@example.com', team: 'sales' });
      // Carol is in no team but manages sales.
      await reassignTask(ctx, { taskId: call.id, to: { user: 'dana@example.com' }, reason: 'balancing', actor: 'carol@example.com' }, NOW);
      expect((await taskOf('dee@example.com', 'call')).assignee).toBe('dana@example.com');
    });
  });

  describe('skip', () => {
    it('closes the task as skipped with why, never as an attempt, and cancels its pending escalation timers', async () => {
      const call = await taskOf('eve@example.com', 'call');
      await place(call.id, { team: 'sales', assignee: 'bob@example.com' });
      await store.db
        .insertInto('task_timers')
        .values([
          { task_id: call.id, step: 0, action: 'remind', due_at: NOW.minus({ minutes: 2 }).toJSDate(), status: 'fired', fired_at: NOW.minus({ minutes: 2 }).toJSDate(), detail: '{}' },
          { task_id: call.id, step: 1, action: 'reassign', due_at: NOW.plus({ minutes: 2 }).toJSDate(), detail: '{}' },
          { task_id: call.id, step: 2, action: 'notify_manager', due_at: NOW.plus({ minutes: 12 }).toJSDate(), detail: '{}' },
        ])
        .execute();

      const r = await skipTask(ctx, { taskId: call.id, reason: 'duplicate of the lead call', actor: 'bob@example.com' }, NOW);

      expect(r.timersCancelled).toBe(2);
      const after = await taskOf('eve@example.com', 'call');
      expect(after).toMatchObject({ status: 'skipped', outcome: 'skipped: duplicate of the lead call', first_attempt_at: null, first_connected_at: null });
      expect(after.completed_at?.toISOString()).toBe(NOW.toJSDate().toISOString());
      const timers = await store.db.selectFrom('task_timers').select(['step', 'status']).where('task_id', '=', call.id).orderBy('step').execute();
      expect(timers).toEqual([
        { step: 0, status: 'fired' },
        { step: 1, status: 'cancelled' },
        { step: 2, status: 'cancelled' },
      ]);
      expect(await activityOf(call.id)).toEqual([expect.objectContaining({ actor: 'bob@example.com', action: 'skipped', reason: 'duplicate of the lead call', detail: { timersCancelled: 2 } })]);
      // Listed as skipped, not open, not done.
      expect((await taskList(store.db, { status: 'skipped', now: NOW })).map((t) => t.id)).toEqual([call.id]);
      expect((await taskList(store.db, { status: 'done', now: NOW })).map((t) => t.id)).not.toContain(call.id);
    });

    it('a skipped, done or cancelled task refuses every action, saying its state and since when', async () => {
      const skipped = await taskOf('eve@example.com', 'call');
      const since = NOW.toJSDate().toISOString();
      for (const run of [
        () => claimTask(ctx, { taskId: skipped.id, as: 'bob@example.com' }, NOW),
        () => snoozeTask(ctx, { taskId: skipped.id, snooze: { duration: '1 hour' }, reason: 'x', actor: 'cli' }, NOW),
        () => reassignTask(ctx, { taskId: skipped.id, to: { team: 'sales' }, reason: 'x', actor: 'cli' }, NOW),
        () => skipTask(ctx, { taskId: skipped.id, reason: 'x', actor: 'cli' }, NOW),
      ]) {
        const err = await run().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ConflictError);
        expect((err as Error).message).toMatch(new RegExp(`^task ${skipped.id} is skipped \\(duplicate of the lead call\\) since ${since.replace(/\./g, '\\.')}: it cannot be (claimed|snoozed|reassigned|skipped)$`));
      }
      const postcard = await taskOf('eve@example.com', 'postcard');
      await completeTask(ctx, postcard.id, 'sent', NOW);
      await expect(skipTask(ctx, { taskId: postcard.id, reason: 'x', actor: 'cli' }, NOW)).rejects.toThrow(`task ${postcard.id} is done (sent) since ${since}: it cannot be skipped`);
      await expect(skipTask(ctx, { taskId: 999_999, reason: 'x', actor: 'cli' }, NOW)).rejects.toThrow('no task with id 999999');
    });
  });

  describe('read models', () => {
    it('sort by SLA deadline, then priority, then due; snoozed last; filter by assignee, team and a user\'s queue', async () => {
      const ann = await taskOf('ann@example.com', 'call'); // bob's, claimed
      const ben = await taskOf('ben@example.com', 'call'); // sales queue
      const benCard = await taskOf('ben@example.com', 'postcard'); // nowhere
      const dee = await taskOf('dee@example.com', 'call'); // dana's
      await place(ben.id, { sla_due_at: NOW.plus({ minutes: 3 }).toJSDate() });
      await place(dee.id, { sla_due_at: NOW.plus({ minutes: 1 }).toJSDate() });
      await place(benCard.id, { team: 'office' });

      const open = await taskList(store.db, { now: NOW });
      expect(open.slice(0, 2).map((t) => t.id)).toEqual([dee.id, ben.id]);
      expect(open[0]).toMatchObject({ assignee: 'dana@example.com', team: 'sales', slaDueAt: NOW.plus({ minutes: 1 }).toJSDate().toISOString(), slaBreachedAt: null, snoozedUntil: null });

      expect((await taskList(store.db, { assignee: 'BOB@example.com', now: NOW })).map((t) => t.id)).toEqual([ann.id]);
      expect((await taskList(store.db, { team: 'sales', kind: 'call', now: NOW })).map((t) => t.id)).toEqual([dee.id, ben.id, ann.id, (await taskOf('cy@example.com', 'call')).id]);
      const nobody = await taskList(store.db, { assignee: null, now: NOW });
      expect(nobody.map((t) => t.id)).toContain(ben.id);
      expect(nobody.every((t) => t.assignee === null)).toBe(true);
      // Bob's queue: what he holds, and the sales tasks nobody holds; not Dana's, not the office's.
      const bob = await taskList(store.db, { mine: { email: 'bob@example.com', teams: ['sales'] }, now: NOW });
      expect(bob.map((t) => t.id)).toEqual([ben.id, ann.id]);
      const olive = await taskList(store.db, { mine: { email: 'olive@example.com', teams: ['office'] }, now: NOW });
      expect(olive.map((t) => t.id)).toEqual([benCard.id]);
    });

    it("the detail has the contact's details and flags, recent touches, opens, clicks and the activity", async () => {
      const call = await taskOf('ann@example.com', 'call');
      const cid = await contactId('ann@example.com');
      const welcome = await store.db.selectFrom('touches').select('id').where('contact_id', '=', cid).where('template', '=', 'welcome').executeTakeFirstOrThrow();
      await store.db.updateTable('touches').set({ status: 'sent', sent_at: T0.plus({ minutes: 1 }).toJSDate(), subject: 'Welcome' }).where('id', '=', welcome.id).execute();
      await store.db
        .insertInto('events')
        .values([
          { id: 'open-1', contact_id: cid, type: 'email_opened', occurred_at: T0.plus({ minutes: 5 }).toJSDate(), data: '{}', touch_id: welcome.id },
          { id: 'click-1', contact_id: cid, type: 'email_clicked', occurred_at: T0.plus({ minutes: 6 }).toJSDate(), data: JSON.stringify({ url: 'https://example.com/pricing' }), touch_id: welcome.id },
        ])
        .execute();
      await store.db.updateTable('contacts').set({ phone_bad_at: T0.plus({ hours: 1 }).toJSDate(), owner: 'bob@example.com' }).where('id', '=', cid).execute();

      const d = await taskDetail(store.db, call.id, NOW);

      expect(d.contact).toMatchObject({
        email: 'ann@example.com',
        phone: '+15555550100',
        address: { line1: '1 Main St', city: 'Springfield' },
        owner: 'bob@example.com',
        flags: { phoneBadAt: T0.plus({ hours: 1 }).toJSDate().toISOString(), addressBadAt: null, unsubscribedAt: null },
      });
      const w = d.touches.find((t) => t.id === welcome.id);
      expect(w).toMatchObject({ kind: 'email', status: 'sent', subject: 'Welcome', firstOpenedAt: T0.plus({ minutes: 5 }).toJSDate().toISOString(), firstClickedAt: T0.plus({ minutes: 6 }).toJSDate().toISOString() });
      // Only what went out by now: the monthly email a month ahead is not a recent touch.
      expect(d.touches[0]!.id).toBe(welcome.id);
      expect(d.touches.every((t) => Date.parse(t.sentAt ?? t.dueAt) <= NOW.toMillis())).toBe(true);
      expect(d.opens).toEqual([{ at: T0.plus({ minutes: 5 }).toJSDate().toISOString(), touchId: welcome.id, subject: 'Welcome', sequenceId: 'nurture', stepId: expect.any(String), url: null }]);
      expect(d.clicks).toEqual([expect.objectContaining({ touchId: welcome.id, url: 'https://example.com/pricing' })]);
      expect(d.activity.map((a) => [a.actor, a.action])).toEqual([['bob@example.com', 'claimed']]);

      const shown = await showTask(store.db, call.id, VIEW);
      expect(shown.text).toContain('held by    claimed by bob@example.com (team sales)');
      expect(shown.text).toContain('flags      PHONE MARKED WRONG 2026-11-23 11:00 UTC');
      expect(shown.text).toContain(`2026-11-23 12:00 UTC  claimed by bob@example.com: claimed from team sales's queue`);
      expect(shown.text).toContain('2026-11-23 10:01 UTC  email    sent      Welcome (opened, clicked)');
      expect(shown.text).toContain('2026-11-23 10:06 UTC  Welcome  https://example.com/pricing');
    });
  });

  describe('CLI cores', () => {
    it('claim, snooze, reassign and skip print one line and a JSON report of the task and the activity', async () => {
      const card = await taskOf('cy@example.com', 'postcard');
      await place(card.id, { team: 'office', assignee: null });

      const claimed = await runClaim(ctx, card.id, 'olive@example.com', VIEW);
      expect(claimed.text).toBe(`task ${card.id} claimed by Olive Brandt <olive@example.com> from team office's queue`);
      expect(claimed.data).toMatchObject({
        action: 'claimed',
        changed: true,
        task: { id: card.id, status: 'open', assignee: 'olive@example.com', team: 'office', claimedAt: NOW.toJSDate().toISOString() },
        activity: { at: NOW.toJSDate().toISOString(), actor: 'olive@example.com', action: 'claimed', reason: "claimed from team office's queue", detail: { team: 'office' } },
      });
      // The JSON is plain data: it survives a round trip unchanged.
      expect(JSON.parse(JSON.stringify(claimed.data))).toEqual(claimed.data);

      const snoozed = await runSnooze(ctx, card.id, { until: NOW.plus({ hours: 3 }).toJSDate() }, 'printer is down', 'olive@example.com', VIEW);
      expect(snoozed.text).toBe(`task ${card.id} snoozed until 2026-11-23 15:00 UTC (in 3 h) by olive@example.com: printer is down`);
      expect(snoozed.data).toMatchObject({ action: 'snoozed', changed: true, task: { snoozedUntil: NOW.plus({ hours: 3 }).toJSDate().toISOString() }, activity: { reason: 'printer is down' } });

      const moved = await runReassign(ctx, card.id, { user: 'bob@example.com' }, 'Bob drives past', 'cli', VIEW);
      expect(moved.text).toBe(`task ${card.id} reassigned to Bob Rivera <bob@example.com> (team sales) by cli: Bob drives past (was claimed by olive@example.com (team office))`);
      expect(moved.data).toMatchObject({ action: 'reassigned', changed: true, task: { assignee: 'bob@example.com', team: 'sales', claimedAt: null } });

      const skipped = await runSkip(ctx, card.id, 'address is a vacant lot', 'bob@example.com', VIEW);
      expect(skipped.text).toBe(`task ${card.id} skipped by bob@example.com: address is a vacant lot (it is not done and counts as no attempt)`);
      expect(skipped.data).toMatchObject({ action: 'skipped', changed: true, timersCancelled: 0, task: { status: 'skipped', outcome: 'skipped: address is a vacant lot' } });

      const shown = await showTask(store.db, card.id, VIEW);
      expect(shown.data.activity.map((a) => a.action)).toEqual(['claimed', 'snoozed', 'reassigned', 'skipped']);
      expect(shown.text).toContain('snoozed until 2026-11-23 15:00 UTC by olive@example.com: printer is down');
      expect(shown.text).toContain('reassigned to bob@example.com by cli: Bob drives past');
    });

    it('list flags: --assignee, --team, --mine (which needs the directory), and skipped as a status', async () => {
      const view = (f: Parameters<typeof parseTaskFlags>[0]) => listTasksView(store.db, parseTaskFlags(f, VIEW, dir));
      const bobs = await view({ assignee: 'bob@example.com' });
      expect(bobs.data.every((t) => t.assignee === 'bob@example.com')).toBe(true);
      expect(bobs.text).toContain('claimed by bob@example.com (team sales)');
      expect((await view({ team: 'nope' })).text).toBe('no open tasks in team nope');
      expect((await view({ mine: 'olive@example.com' })).data.map((t) => t.team)).toEqual(['office']);
      expect((await view({ status: 'skipped' })).data).toHaveLength(2);
      expect(() => parseTaskFlags({ mine: 'olive@example.com' }, VIEW)).toThrow('--mine: needs the team directory');
      expect(() => parseTaskFlags({ mine: 'nobody@example.com' }, VIEW, dir)).toThrow('--mine: no user "nobody@example.com" in team.yaml');
      expect((await view({ assignee: 'none', kind: 'call' })).data.every((t) => t.assignee === null)).toBe(true);
    });
  });
});
