import { showContact } from '../../src/cli/contacts.js';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyEvent } from '../../src/engine/apply-event.js';
import type { EngineDeps } from '../../src/engine/engine-deps.js';
import { sendTouch } from '../../src/engine/send-touch.js';
import { wakeEnrollment } from '../../src/engine/wake-enrollment.js';
import type { MailSender } from '../../src/templates/mail-sender.js';
import { buildCli, runCli } from '../support/cli.js';
import type { CliStore } from '../support/cli-store.js';
import { createCliStore } from '../support/cli-store.js';
import { createTestDeps, writeTemplates } from '../support/engine.js';
import { programFromYaml } from '../support/programs.js';

/** `nurture contacts enroll | remove | pause | resume | import`, through the compiled CLI on real PostgreSQL. */

const ONBOARDING = `
id: onboarding
trigger: { event: opt_in, where: { source: webinar } }
steps:
  - email: welcome
  - postcard: postcard
  - wait: 2 days
  - email: guide
  - wait: 30 days
  - email: monthly
`;
const NEWS = `
id: news
trigger: { event: opt_in, where: { source: news } }
reentry: always
steps:
  - email: monthly
`;

const T0 = DateTime.fromISO('2026-11-02T10:00:00Z', { zone: 'utc' });

describe('nurture contacts: manual control', () => {
  let cs: CliStore;
  let deps: EngineDeps;
  let templatesDir: string;
  const cli = (...args: string[]) =>
    runCli(['contacts', ...args, ...(['enroll', 'import'].includes(args[0]!) ? ['--templates', templatesDir] : [])], { env: cs.env });
  const db = () => cs.store.db;
  const event = (email: string, type: string, at: DateTime, data: Record<string, unknown> = {}) =>
    applyEvent(deps, { id: `${type}-${email}-${at.toMillis()}`, type, occurredAt: at.toISO()!, contact: { email }, data }, at);
  const enrollments = (email: string) =>
    db()
      .selectFrom('enrollments')
      .innerJoin('contacts', 'contacts.id', 'enrollments.contact_id')
      .selectAll('enrollments')
      .where('contacts.email', '=', email)
      .orderBy('enrollments.enrolled_at')
      .execute();
  const touches = (email: string) =>
    db()
      .selectFrom('touches')
      .innerJoin('contacts', 'contacts.id', 'touches.contact_id')
      .select(['touches.id', 'touches.step_id', 'touches.status', 'touches.kind', 'touches.error', 'touches.enrollment_id'])
      .where('contacts.email', '=', email)
      .orderBy('touches.created_at')
      .orderBy('touches.due_at')
      .execute();
  const tasks = (email: string) =>
    db()
      .selectFrom('tasks')
      .innerJoin('contacts', 'contacts.id', 'tasks.contact_id')
      .select(['tasks.kind', 'tasks.status', 'tasks.outcome'])
      .where('contacts.email', '=', email)
      .orderBy('tasks.id')
      .execute();

  beforeAll(async () => {
    buildCli();
    cs = await createCliStore();
    templatesDir = await writeTemplates();
    ({ deps } = await createTestDeps(
      cs.store.db,
      [
        { file: 'onboarding.yaml', program: programFromYaml(ONBOARDING, 'onboarding.yaml') },
        { file: 'news.yaml', program: programFromYaml(NEWS, 'news.yaml') },
      ],
      templatesDir,
    ));
  }, 300_000);
  afterAll(async () => {
    await cs?.cleanup();
    if (templatesDir) await rm(templatesDir, { recursive: true, force: true });
  });

  it('enroll runs the first steps through the engine; remove ends it and cancels its emails and tasks', async () => {
    await event('ann@example.com', 'page_visited', T0);
    const r = await cli('enroll', 'Ann@Example.com', '--sequence', 'onboarding');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ann@example\.com enrolled in onboarding@[0-9a-f]{12}, at step postcard-wait; the running engine .* queues the follow-up work/);
    expect((await enrollments('ann@example.com')).map((e) => [e.sequence_id, e.status])).toEqual([['onboarding', 'active']]);
    expect((await touches('ann@example.com')).map((t) => [t.step_id, t.status])).toEqual([
      ['welcome', 'pending'],
      ['postcard', 'done'],
    ]);

    const twice = await cli('enroll', 'ann@example.com', '--sequence', 'onboarding');
    expect(twice.code).not.toBe(0);
    expect(twice.stderr).toContain('ann@example.com cannot be enrolled in onboarding: already enrolled');

    const removed = await cli('remove', 'ann@example.com', '--sequence', 'onboarding');
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain('ann@example.com removed from onboarding (exited, reason removed): 1 unsent email and 1 open task cancelled');
    expect(await enrollments('ann@example.com')).toMatchObject([{ status: 'exited', exit_reason: 'removed', next_wake_at: null }]);
    expect((await touches('ann@example.com')).map((t) => [t.step_id, t.status, t.error])).toEqual([
      ['welcome', 'cancelled', 'removed'],
      ['postcard', 'done', null],
    ]);
    expect(await tasks('ann@example.com')).toEqual([{ kind: 'postcard', status: 'cancelled', outcome: 'cancelled: removed' }]);
    expect((await cli('remove', 'ann@example.com', '--sequence', 'onboarding')).stderr).toContain('ann@example.com is not in sequence onboarding right now');
  });

  it('enroll respects the re-entry policy; --force overrides it and nothing else', async () => {
    const again = await cli('enroll', 'ann@example.com', '--sequence', 'onboarding');
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('ann@example.com cannot be enrolled in onboarding: reentry: once (--force enrolls anyway)');
    const forced = await cli('enroll', 'ann@example.com', '--sequence', 'onboarding', '--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain('(re-entry overridden: reentry: once)');
    expect((await enrollments('ann@example.com')).map((e) => e.status)).toEqual(['exited', 'active']);

    await event('ulla@example.com', 'unsubscribed', T0);
    const unsub = await cli('enroll', 'ulla@example.com', '--sequence', 'onboarding', '--force');
    expect(unsub.code).not.toBe(0);
    expect(unsub.stderr).toContain('ulla@example.com cannot be enrolled in onboarding: unsubscribed');
    expect((await cli('enroll', 'nobody@example.com', '--sequence', 'onboarding')).stderr).toContain('no contact with email nobody@example.com');
    expect((await cli('enroll', 'ann@example.com', '--sequence', 'nope')).stderr).toContain('no sequence with id "nope"');
  });

  it('pause holds everything for the contact; resume continues where it was, once', async () => {
    await event('pat@example.com', 'opt_in', T0, { source: 'webinar' });
    const [before] = await enrollments('pat@example.com');
    const welcome = (await touches('pat@example.com')).find((t) => t.step_id === 'welcome')!;
    expect(welcome.status).toBe('pending');

    const paused = await cli('pause', 'pat@example.com');
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toContain('pat@example.com is paused: 1 enrollment and 1 unsent email held; 1 open staff task stay open');
    const [held] = await enrollments('pat@example.com');
    expect(held).toMatchObject({ status: 'active', next_wake_at: null });
    expect(held!.held_wake_at?.toISOString()).toBe('2026-11-04T10:00:00.000Z');
    // contacts show says so, on the contact and on its enrollment.
    const shown = await showContact(db(), 'pat@example.com', { now: T0, zone: 'UTC' });
    expect(shown.data.contact.pausedAt).not.toBeNull();
    expect(shown.text).toMatch(/^ {2}status {7}subscriber; PAUSED since \d{4}-\d\d-\d\d \d\d:\d\d UTC: nothing goes out until nurture contacts resume$/m);
    expect(shown.text).toMatch(/onboarding@\w+: held since .+ \(paused\), at step /);

    // Nothing goes out: a send job already in the queue skips the held email and sends nothing.
    const sent: string[] = [];
    const mail: MailSender = { describe: () => 'test', send: async (m) => {
        sent.push(m.to);
        return { messageId: m.messageId, accepted: true, response: '250 ok' };
      },
      close: async () => {} };
    expect(await sendTouch(deps, mail, welcome.id, T0)).toEqual({ status: 'skipped', reason: 'already held' });
    expect(sent).toEqual([]);
    // The queued wake-up is stale; an engagement event is recorded but does not advance it; no trigger enrolls the contact.
    expect((await wakeEnrollment(deps, held!.id, before!.wake_version, T0.plus({ days: 3 }))).status).toBe('stale');
    expect((await event('pat@example.com', 'opt_in', T0.plus({ days: 1 }), { source: 'news' })).enrolled).toEqual([]);

    const resumed = await cli('resume', 'pat@example.com');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('pat@example.com is resumed; 1 enrollment continue where they were');
    const [back] = await enrollments('pat@example.com');
    expect(back).toMatchObject({ held_at: null, held_wake_at: null });
    expect(back!.next_wake_at?.toISOString()).toBe('2026-11-04T10:00:00.000Z');
    expect((await touches('pat@example.com')).find((t) => t.id === welcome.id)!.status).toBe('pending');

    // Resumed 60 days on: the guide goes out once, and the 30-day wait counts from then (no monthly email at once).
    const late = T0.plus({ days: 60 });
    expect((await wakeEnrollment(deps, back!.id, back!.wake_version, late)).status).toBe('advanced');
    expect((await touches('pat@example.com')).map((t) => t.step_id)).toEqual(['welcome', 'postcard', 'guide']);
    expect((await enrollments('pat@example.com'))[0]!.next_wake_at?.toISOString()).toBe(late.plus({ days: 30 }).toJSDate().toISOString());
  });

  it('import: columns mapped by --map and by header name, every bad row named by line, field and value', async () => {
    const file = path.join(cs.dir, 'fair-2026.csv');
    await writeFile(
      file,
      [
        'E-mail,First,Surname,Phone,Plan,Zone,Notes',
        'amy@example.com,Amy,Adams,+15555550101,pro,America/Chicago,first',
        'not-an-email,Bad,Row,,,,',
        '"ben@example.com","Ben, Jr.",Brown,,basic,,"a ""quoted"" note"',
        'cat@example.com,Cat,,,,Mars/Olympus,',
        'AMY@example.com,,Adams-Smith,,,,',
        '',
      ].join('\n'),
    );
    const r = await cli('import', file, '--map', 'email=E-mail,firstName=First,attributes.plan=Plan');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${file}:3: email (column "E-mail"): "not-an-email" is not an email address`);
    expect(r.stdout).toContain(`${file}:5: timezone (column "Zone"): "Mars/Olympus" is not an IANA time zone`);
    expect(r.stdout).toContain('5 rows read; 2 contacts imported (2 new, 0 updated), tagged fair-2026; 2 invalid rows skipped; 1 row repeated an email and were merged');
    expect(r.stdout).toContain('ignored: Notes');
    expect(r.stdout).toContain('no opt-in recorded and nobody enrolled');
    const rows = await db().selectFrom('contacts').selectAll().where('email', 'in', ['amy@example.com', 'ben@example.com', 'cat@example.com']).orderBy('email').execute();
    expect(rows.map((c) => [c.email, c.first_name, c.last_name, c.phone, c.timezone, c.attributes, c.tags, c.opted_in_at])).toEqual([
      ['amy@example.com', 'Amy', 'Adams-Smith', '+15555550101', 'America/Chicago', { plan: 'pro' }, ['fair-2026'], null],
      ['ben@example.com', 'Ben, Jr.', 'Brown', null, null, { plan: 'basic' }, ['fair-2026'], null],
    ]);
    expect(await enrollments('amy@example.com')).toEqual([]);

    const missing = await runCli(['contacts', 'import', file, '--map', 'email=Mail'], { env: cs.env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('--map email=Mail: there is no column "Mail" (columns: E-mail, First, Surname, Phone, Plan, Zone, Notes)');
  });

  it('import --enroll opts the rows in through the engine, once: a re-run enrolls nobody twice', async () => {
    const file = path.join(cs.dir, 'webinar.csv');
    await writeFile(file, 'email,first name\nwes@example.com,Wes\namy@example.com,\n');
    const r = await cli('import', file, '--enroll', '--source', 'webinar');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('2 contacts imported (1 new, 1 updated), tagged webinar');
    expect(r.stdout).toContain('opt-ins: 2 recorded, 0 already recorded by an earlier run of this import; 2 enrollments made');
    expect((await enrollments('wes@example.com')).map((e) => e.sequence_id)).toEqual(['onboarding']);
    const amy = await db().selectFrom('contacts').selectAll().where('email', '=', 'amy@example.com').executeTakeFirstOrThrow();
    expect(amy.tags).toEqual(['fair-2026', 'webinar']);
    expect(amy.opted_in_at).not.toBeNull();

    const again = await cli('import', file, '--enroll', '--source', 'webinar');
    expect(again.stdout).toContain('opt-ins: 0 recorded, 2 already recorded by an earlier run of this import; 0 enrollments made');
    expect(await enrollments('wes@example.com')).toHaveLength(1);
  });
});
