import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listContactsView, showContact } from '../../src/cli/contacts.js';
import { parseInstant } from '../../src/cli/format.js';
import { listFailedEventsView, showEvent } from '../../src/cli/events.js';
import { computeStats } from '../../src/cli/stats.js';
import { listTasksView, parseTaskFlags, parseTaskId, runTaskDone, showTask } from '../../src/cli/tasks.js';
import { recordFailedEvent } from '../../src/db/event-repository.js';
import { applyEvent } from '../../src/engine/apply-event.js';
import type { EngineDeps } from '../../src/engine/engine-deps.js';
import { InputError, NotFoundError } from '../../src/errors.js';
import type { NurtureEventInput } from '../../src/sequences/event.js';
import { programFromYaml } from '../support/programs.js';
import type { TestStore } from '../support/postgres.js';
import { appContextFor, createTestDeps } from '../support/engine.js';
import { createTestStore } from '../support/postgres.js';

/**
 * The inspection commands' cores (what `nurture contacts|tasks|events|stats` print), called
 * directly on data the engine itself made in real PostgreSQL, at a fixed "now".
 */

const SEQUENCE = `
id: welcome
trigger: { event: opt_in }
steps:
  - email: welcome
    send_window: { days: weekdays, from: "09:00", to: "17:00" }
  - postcard: hello-postcard
  - call: { note: "Intro call", due: 1 day }
  - wait: 30 days
  - email: monthly
`;

const utc = (s: string) => DateTime.fromISO(s, { zone: 'utc' });
const MON = utc('2026-11-23T10:00:00Z');
/** The commands' clock: Wednesday evening, outside the send window. */
const NOW = utc('2026-11-25T20:00:00Z');
const VIEW = { now: NOW, zone: 'UTC' };
const LONG_PAYLOAD = JSON.stringify({ id: 'bad-1', type: 'opt_in', contact: { email: 'not-an-email' }, data: { note: 'x'.repeat(300) } });

describe('inspection commands', () => {
  let store: TestStore;
  let templatesDir: string;
  let deps: EngineDeps;

  const apply = async (at: DateTime, e: Omit<NurtureEventInput, 'occurredAt' | 'data'> & { data?: Record<string, unknown> }) => {
    const r = await applyEvent(deps, { ...e, occurredAt: at.toISO()!, data: e.data ?? {} }, at);
    expect(r.status).toBe('applied');
    return r;
  };
  const optIn = (at: DateTime, email: string, firstName: string, extra: Record<string, unknown> = {}) =>
    apply(at, { id: `opt-in-${email}`, type: 'opt_in', contact: { email, firstName, ...extra } });
  const appointment = (at: DateTime, email: string) => apply(at, { id: `appt-${email}`, type: 'appointment_requested', contact: { email } });
  const contactId = async (email: string) => (await store.db.selectFrom('contacts').select('id').where('email', '=', email).executeTakeFirstOrThrow()).id;

  beforeAll(async () => {
    store = await createTestStore('postgres');
    templatesDir = await mkdtemp(path.join(tmpdir(), 'nurture-cli-'));
    await writeFile(path.join(templatesDir, 'welcome.hbs'), '---\nsubject: Welcome\n---\n<p>Hi {{default firstName "there"}}</p>\n');
    await writeFile(path.join(templatesDir, 'monthly.hbs'), '---\nsubject: This month\n---\n<p>News</p>\n');
    await writeFile(path.join(templatesDir, 'hello-postcard.hbs'), '---\nsubject: Hello card\n---\n<p>Dear {{default firstName "friend"}}, hello from us.</p>\n');
    ({ deps } = await createTestDeps(store.db, [{ file: 'welcome.yaml', program: programFromYaml(SEQUENCE, 'welcome.yaml') }], templatesDir));

    const address = { line1: '1 Main St', city: 'Springfield', postalCode: '62701', country: 'US' };
    // Ann: opted in Monday, asked for an appointment 2 days 4 h later.
    await optIn(MON, 'ann@example.com', 'Ann', { lastName: 'Lee', phone: '+15555550100' });
    await appointment(MON.plus({ hours: 52 }), 'ann@example.com');
    // Dave: a lead 35 minutes after opting in.
    await optIn(MON, 'dave@example.com', 'Dave');
    await appointment(MON.plus({ minutes: 35 }), 'dave@example.com');
    // Erin: made by the engine, then her history set directly: opted in 10 days before she became a lead.
    await optIn(MON, 'erin@example.com', 'Erin');
    await appointment(MON.plus({ hours: 1 }), 'erin@example.com');
    await store.db
      .updateTable('contacts')
      .set({ opted_in_at: '2026-11-13T10:00:00Z', promoted_at: '2026-11-23T10:00:00Z' })
      .where('email', '=', 'erin@example.com')
      .execute();
    // Fay asked for an appointment without ever opting in: a lead, but no opt-in conversion.
    await appointment(MON, 'fay@example.com');
    // Carol: opted in this morning, still a subscriber, with a postcard and a call to do; her
    // welcome email was cut off mid-send.
    await optIn(NOW.set({ hour: 10 }), 'carol@example.com', 'Carol', { phone: '+15555550199', address });
    await store.db.updateTable('touches').set({ status: 'sending', in_doubt: true, attempts: 2, message_id: '<m1@example.com>', subject: 'Welcome' }).where('contact_id', '=', await contactId('carol@example.com')).where('kind', '=', 'email').execute();
    // Bob: opted in now, outside the send window: his welcome email waits for tomorrow 09:00.
    await optIn(NOW, 'bob@example.com', 'Bob');

    await recordFailedEvent(store.db, { eventId: 'bad-1', jobId: 'job-1', field: 'contact.email', reason: 'contact.email: is not an email address', payload: LONG_PAYLOAD });
    await recordFailedEvent(store.db, { eventId: undefined, jobId: 'job-2', field: '', reason: 'payload is not valid JSON', payload: 'not json{' });
  });

  afterAll(async () => {
    await store?.cleanup();
    if (templatesDir) await rm(templatesDir, { recursive: true, force: true });
  });

  describe('contacts show', () => {
    it('makes a delayed touch visible: delayed to when, and by what', async () => {
      const r = await showContact(store.db, 'bob@example.com', VIEW);
      expect(r.data.enrollments).toHaveLength(1);
      expect(r.data.enrollments[0]).toMatchObject({
        sequenceId: 'welcome',
        status: 'active',
        stepId: 'welcome',
        nextWakeAt: '2026-11-26T09:00:00.000Z',
        delay: { until: '2026-11-26T09:00:00.000Z', reason: 'send_window' },
      });
      expect(r.text).toContain('delayed to 2026-11-26 09:00 UTC (in 13 h) by send window');
      expect(r.data.touches).toEqual([]);
    });

    it('shows a lead: matched case-insensitively, with promotion, time to lead, tasks and events', async () => {
      const r = await showContact(store.db, '  ANN@Example.com ', VIEW);
      expect(r.data.contact).toMatchObject({
        email: 'ann@example.com',
        name: 'Ann Lee',
        status: 'lead',
        promotionReason: 'event:appointment_requested',
        optedInAt: '2026-11-23T10:00:00.000Z',
        promotedAt: '2026-11-25T14:00:00.000Z',
        timeToLead: { seconds: 52 * 3600, text: '2 days 4 h' },
      });
      expect(r.data.enrollments[0]).toMatchObject({ status: 'exited', exitReason: 'promoted', delay: null });
      expect(r.data.tasks.map((t) => [t.kind, t.priority, t.status])).toEqual([
        ['call', 'high', 'open'],
        ['call', 'normal', 'cancelled'],
        ['postcard', 'normal', 'cancelled'],
      ]);
      expect(r.data.events.map((e) => e.type)).toEqual(['appointment_requested', 'opt_in']);
      expect(r.text).toContain('Ann Lee <ann@example.com>');
      expect(r.text).toContain('lead since 2026-11-25 14:00 UTC (event:appointment_requested); 2 days 4 h after opt-in');
      expect(r.text).toContain('exited (promoted)');
    });

    it('flags a send that is in doubt', async () => {
      const r = await showContact(store.db, 'carol@example.com', VIEW);
      expect(r.data.touches.find((t) => t.kind === 'email')).toMatchObject({ status: 'sending', inDoubt: true, attempts: 2, messageId: '<m1@example.com>' });
      expect(r.text).toMatch(/welcome\s+email\s+sending.*<m1@example\.com>\s+2\s+IN DOUBT/);
      expect(r.text).toContain('1 Main St, Springfield, 62701, US');
    });

    it('an unknown email is NotFound, and says how emails are matched', async () => {
      await expect(showContact(store.db, 'x@y.com', VIEW)).rejects.toThrow(NotFoundError);
      await expect(showContact(store.db, 'x@y.com', VIEW)).rejects.toThrow('no contact with email x@y.com (emails are matched case-insensitively)');
    });
  });

  describe('contacts list', () => {
    it('filters by status and limits', async () => {
      const leads = await listContactsView(store.db, { ...VIEW, status: 'lead' });
      expect(leads.data.map((c) => c.email).sort()).toEqual(['ann@example.com', 'dave@example.com', 'erin@example.com', 'fay@example.com']);
      const subscribers = await listContactsView(store.db, { ...VIEW, status: 'subscriber' });
      expect(subscribers.data.map((c) => c.email).sort()).toEqual(['bob@example.com', 'carol@example.com']);
      expect((await listContactsView(store.db, { ...VIEW, limit: 2 })).data).toHaveLength(2);
      expect(leads.text).toContain('4 contact(s)');
    });
  });

  describe('tasks', () => {
    const list = async (flags: Parameters<typeof parseTaskFlags>[0]) => listTasksView(store.db, parseTaskFlags(flags, VIEW));

    it('lists open tasks, high priority first, then by due time', async () => {
      const r = await list({});
      expect(r.data.map((t) => [t.contact.email, t.kind, t.priority])).toEqual([
        ['fay@example.com', 'call', 'high'],
        ['dave@example.com', 'call', 'high'],
        ['erin@example.com', 'call', 'high'],
        ['ann@example.com', 'call', 'high'],
        ['carol@example.com', 'call', 'normal'],
        ['carol@example.com', 'postcard', 'normal'],
      ]);
      expect(r.text).toContain('6 open tasks (4 high priority, 4 overdue)');
      expect(r.text).toContain('phone +15555550199');
      expect(r.text).toContain('to 1 Main St, Springfield, 62701, US');
      expect(r.text).toContain('due in 14 h (2026-11-26 10:00 UTC)');
      expect(r.text).toContain('OVERDUE 5 h (due 2026-11-25 15:00 UTC)');
    });

    it('filters by kind, status, due time and contact', async () => {
      expect((await list({ kind: 'postcard' })).data.map((t) => t.contact.email)).toEqual(['carol@example.com']);
      expect((await list({ status: 'cancelled' })).data).toHaveLength(6);
      expect((await list({ status: 'all' })).data).toHaveLength(12);
      expect((await list({ dueBefore: 'today' })).data.map((t) => t.contact.email)).toEqual(['fay@example.com', 'dave@example.com', 'erin@example.com', 'ann@example.com']);
      expect((await list({ dueBefore: 'tomorrow' })).data).toHaveLength(5);
      expect((await list({ dueBefore: '3 days' })).data).toHaveLength(6);
      expect((await list({ dueBefore: '2026-11-24' })).data.map((t) => t.contact.email)).toEqual(['fay@example.com', 'dave@example.com', 'erin@example.com']);
      expect((await list({ contact: 'CAROL@example.com' })).data.map((t) => t.kind)).toEqual(['call', 'postcard']);
      expect((await list({ limit: '1' })).data).toHaveLength(1);
      expect((await list({ kind: 'letter' })).text).toBe('no open letter tasks');
    });

    it('carries the rendered piece for mail and the history for calls', async () => {
      const r = await list({ contact: 'carol@example.com' });
      const [call, postcard] = r.data;
      expect(postcard!.content).toMatchObject({ template: 'hello-postcard', subject: 'Hello card', html: expect.stringContaining('Dear Carol'), text: expect.stringContaining('Dear Carol') });
      expect(postcard!.history).toBeNull();
      expect(call!.content).toBeNull();
      expect(call!.history).toEqual([expect.objectContaining({ type: 'opt_in' })]);
    });

    it('rejects bad flags with messages that name the flag', () => {
      expect(() => parseTaskFlags({ kind: 'postcrd' }, VIEW)).toThrow(InputError);
      expect(() => parseTaskFlags({ kind: 'postcrd' }, VIEW)).toThrow('--kind: "postcrd" is not one of postcard, letter, call, notice');
      expect(() => parseTaskFlags({ status: 'closed' }, VIEW)).toThrow('--status: "closed" is not one of open, done, cancelled, skipped, all');
      expect(() => parseTaskFlags({ dueBefore: 'soonish' }, VIEW)).toThrow(/--due-before: "soonish" is not a time/);
      expect(() => parseTaskFlags({ limit: '0' }, VIEW)).toThrow(/--limit: "0"/);
      expect(() => parseTaskId('abc')).toThrow(/task id "abc" is not a number/);
      expect(parseInstant('--due-before', 'today', NOW, 'ahead', 'UTC').toISOString()).toBe('2026-11-25T23:59:59.999Z');
    });

    it('an unknown contact filter is NotFound', async () => {
      await expect(list({ contact: 'nobody@example.com' })).rejects.toThrow('no contact with email nobody@example.com');
    });

    it('shows one task with its piece and the contact history', async () => {
      const [, postcard] = (await list({ contact: 'carol@example.com' })).data;
      const r = await showTask(store.db, postcard!.id, VIEW);
      expect(r.data).toMatchObject({ id: postcard!.id, kind: 'postcard', contact: { email: 'carol@example.com', status: 'subscriber' } });
      expect(r.data.recentHistory.map((h) => h.type)).toEqual(['opt_in']);
      expect(r.text).toContain(`Task #${postcard!.id}: Postcard "hello-postcard" to Carol <carol@example.com>`);
      expect(r.text).toContain('Subject: Hello card');
      expect(r.text).toContain('Dear Carol, hello from us.');
      await expect(showTask(store.db, 999_999, VIEW)).rejects.toThrow(NotFoundError);
    });
  });

  describe('events', () => {
    it('lists failed events newest first, payload truncated in text and whole in JSON', async () => {
      const r = await listFailedEventsView(store.db, { ...VIEW, limit: 10 });
      expect(r.data.map((f) => f.eventId)).toEqual([null, 'bad-1']);
      expect(r.data[1]).toMatchObject({ field: 'contact.email', reason: 'contact.email: is not an email address', payload: LONG_PAYLOAD, jobId: 'job-1' });
      expect(r.text).toContain('contact.email: is not an email address');
      expect(r.text).toContain(`${LONG_PAYLOAD.slice(0, 119)}…`);
      expect(r.text).not.toContain(LONG_PAYLOAD);
      expect(r.text).toContain('payload is not valid JSON');
      expect((await listFailedEventsView(store.db, { ...VIEW, limit: 1 })).data).toHaveLength(1);
    });

    it('shows an event as applied, or its rejections, or says it was never seen', async () => {
      const applied = await showEvent(store.db, 'opt-in-ann@example.com', VIEW);
      expect(applied.data.applied).toMatchObject({ type: 'opt_in', contactEmail: 'ann@example.com', occurredAt: '2026-11-23T10:00:00.000Z' });
      expect(applied.data.failures).toEqual([]);
      const rejected = await showEvent(store.db, 'bad-1', VIEW);
      expect(rejected.data.applied).toBeNull();
      expect(rejected.data.failures).toHaveLength(1);
      expect(rejected.text).toContain('contact.email: is not an email address');
      await expect(showEvent(store.db, 'never-seen', VIEW)).rejects.toThrow(NotFoundError);
    });
  });

  describe('stats', () => {
    it('computes opt-ins, leads, conversion and time to lead in SQL', async () => {
      const r = await computeStats(store.db, VIEW);
      expect(r.data).toMatchObject({
        since: null,
        optedIn: 5,
        leads: 4,
        converted: 3,
        conversionPercent: 60,
        timeToLead: { leads: 3, medianSeconds: 52 * 3600, minSeconds: 35 * 60, maxSeconds: 10 * 86400 },
        leadsByReason: [{ reason: 'event:appointment_requested', leads: 4 }],
        emails: { pending: 0, sending: 1, sent: 0, failed: 0, cancelled: 3, inDoubt: 1 },
        openTasks: { call: 5, postcard: 1, letter: 0, notice: 0, overdue: 4 },
        activeEnrollments: [{ sequenceId: 'welcome', active: 2 }],
        failedEvents: 2,
        stuck: { enrollments: 0, sends: 0 },
        mail: { state: 'unknown' },
      });
      expect(r.text).toMatch(/^Mail server\s+not checked yet/m);
      expect(r.text).toMatch(/^Stuck\s+none$/m);
      // percentile_cont interpolates: 52 h + 0.8 × (240 h − 52 h).
      expect(r.data.timeToLead.p90Seconds).toBeCloseTo(202.4 * 3600, 3);
      expect(r.text).toContain('60.0% (3 of 5 opted-in contacts became leads)');
      expect(r.text).toContain('median 2 days 4 h, p90 8 days 10 h, min 35 min, max 10 days (3 leads)');
      expect(r.text).toContain('sending 1');
      expect(r.text).toContain('1 in doubt');
    });

    it('--since limits the opt-in cohort', async () => {
      const since = parseInstant('--since', '5 days', NOW, 'back', 'UTC');
      expect(since.toISOString()).toBe('2026-11-20T20:00:00.000Z');
      const r = await computeStats(store.db, { ...VIEW, since });
      // Erin opted in on the 13th: outside. Ann and Dave converted; Bob and Carol did not (yet).
      expect(r.data).toMatchObject({ optedIn: 4, converted: 2, conversionPercent: 50, timeToLead: { leads: 2, minSeconds: 35 * 60, maxSeconds: 52 * 3600 } });
      expect(() => parseInstant('--since', 'last week', NOW, 'back')).toThrow(InputError);
    });
  });

  describe('tasks done', () => {
    it('a booked call makes the contact a lead and says so', async () => {
      const [call] = (await listTasksView(store.db, parseTaskFlags({ contact: 'carol@example.com', kind: 'call' }, VIEW))).data;
      const r = await runTaskDone(appContextFor(deps), call!.id, 'appointment_booked', VIEW);
      expect(r.data).toMatchObject({ promoted: true, contactStatus: 'lead', task: { id: call!.id, status: 'done', outcome: 'appointment_booked' } });
      expect(r.data.leadTask).not.toBeNull();
      expect(r.text).toBe(
        `task ${call!.id} done (appointment_booked): carol@example.com is now a lead; nurture ended (1 sequence); call task ${r.data.leadTask!.id} created, due 21:00 (in 1 h)`,
      );

      const again = await runTaskDone(appContextFor(deps), call!.id, 'appointment_booked', VIEW);
      expect(again.text).toBe(`task ${call!.id} was already done (appointment_booked): its appointment request was applied before; nothing changed`);
    });
  });
});
