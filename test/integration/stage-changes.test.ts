import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { showContact } from '../../src/cli/contacts.js';
import { leadsByReason, listContacts, optInLeadStats, stageChangesOfContact } from '../../src/db/contact-repository.js';
import { applyEvent, applyEvents } from '../../src/engine/apply-event.js';
import { completeTask } from '../../src/app/complete-task.js';
import { appContextFor } from '../support/engine.js';
import type { NurtureEvent } from '../../src/sequences/event.js';
import { useEngineFixture } from '../support/engine-fixture.js';

/** Every lifecycle transition the engine makes is kept in stage_changes, with its reason and event, in the same transaction. */
const SEQ = `
id: welcome
trigger: { event: opt_in }
reentry: always
steps: [ { email: welcome }, { wait: 3 days }, { postcard: postcard }, { wait: 3 days }, { email: guide } ]
`;
const T0 = DateTime.fromISO('2026-11-23T15:00:00Z', { zone: 'utc' });

describe('stage_changes through the engine', () => {
  const f = useEngineFixture('postgres', [SEQ]);

  const ev = (email: string, id: string, type: string, occurredAt: DateTime, data: Record<string, unknown> = {}): NurtureEvent => ({
    id,
    type,
    occurredAt: occurredAt.toISO()!,
    contact: { email },
    data,
  });
  const row = (email: string) => f.store.db.selectFrom('contacts').selectAll().where('email', '=', email).executeTakeFirstOrThrow();
  const changes = async (email: string) =>
    (await stageChangesOfContact(f.store.db, (await row(email)).id)).map((c) => ({
      kind: c.kind,
      from: c.from_stage,
      to: c.to_stage,
      reason: c.reason,
      eventId: c.event_id,
      at: c.at.toISOString(),
    }));

  it('unsubscribe, a late older opt-in, a fresh opt-in, a bounce and a promotion: one row each, none for the rest', async () => {
    const email = 'ann@example.com';
    await applyEvent(f.deps, ev(email, 'a1', 'opt_in', T0), T0);
    await applyEvent(f.deps, ev(email, 'a1b', 'email_opened', T0.plus({ minutes: 30 })), T0.plus({ minutes: 30 }));
    expect(await changes(email)).toEqual([]);

    const t2 = T0.plus({ hours: 2 });
    await applyEvent(f.deps, ev(email, 'a2', 'unsubscribed', t2), t2);
    await applyEvent(f.deps, ev(email, 'a2', 'unsubscribed', t2), t2.plus({ minutes: 1 })); // redelivered
    await applyEvent(f.deps, ev(email, 'a2b', 'unsubscribed', t2.plus({ hours: 1 })), t2.plus({ hours: 1 })); // already unsubscribed
    await applyEvent(f.deps, ev(email, 'a0', 'opt_in', T0.plus({ hours: 1 })), T0.plus({ hours: 4 })); // older, late
    const t5 = T0.plus({ days: 5 });
    await applyEvent(f.deps, ev(email, 'a3', 'opt_in', t5), t5);
    const t6 = T0.plus({ days: 6 });
    await applyEvent(f.deps, ev(email, 'a4', 'bounced', t6), t6);
    const t7 = T0.plus({ days: 7 });
    const promoted = await applyEvent(f.deps, ev(email, 'a5', 'appointment_requested', t7), t7);
    await applyEvent(f.deps, ev(email, 'a6', 'info_requested', t7.plus({ hours: 1 })), t7.plus({ hours: 1 })); // already a lead
    expect(promoted.promoted).toBe(true);

    expect(await changes(email)).toEqual([
      { kind: 'unsubscribed', from: 'subscriber', to: 'subscriber', reason: 'event:unsubscribed', eventId: 'a2', at: t2.toISO() },
      { kind: 'resubscribed', from: 'subscriber', to: 'subscriber', reason: 'event:opt_in', eventId: 'a3', at: t5.toISO() },
      { kind: 'bounced', from: 'subscriber', to: 'subscriber', reason: 'event:bounced', eventId: 'a4', at: t6.toISO() },
      { kind: 'stage', from: 'subscriber', to: 'lead', reason: 'event:appointment_requested', eventId: 'a5', at: t7.toISO() },
    ]);
    // The contact's columns say the same as the last rows: readers of contacts.status keep working.
    const c = await row(email);
    expect(c).toMatchObject({ status: 'lead', promotion_reason: 'event:appointment_requested', unsubscribed_at: null });
    expect(c.promoted_at).toEqual(t7.toJSDate());
    expect(c.bounced_at).toEqual(t6.toJSDate());
    // What each decision asked for was done in the same transaction.
    const enrollments = await f.store.db.selectFrom('enrollments').select(['status', 'exit_reason']).where('contact_id', '=', c.id).orderBy('enrolled_at').execute();
    expect(enrollments).toEqual([
      { status: 'exited', exit_reason: 'unsubscribed' },
      { status: 'exited', exit_reason: 'promoted' },
    ]);
    const calls = await f.store.db.selectFrom('tasks').select(['kind', 'priority']).where('contact_id', '=', c.id).where('enrollment_id', 'is', null).execute();
    expect(calls).toEqual([{ kind: 'call', priority: 'high' }]);
  });

  it('a resubscribe on the bulk path (opt-ins of several contacts in one batch) is recorded too', async () => {
    const t1 = T0.plus({ hours: 1 });
    await applyEvent(f.deps, ev('bo@example.com', 'b1', 'unsubscribed', t1), t1);
    const t2 = T0.plus({ days: 2 });
    const results = await applyEvents(f.deps, [ev('bo@example.com', 'b2', 'opt_in', t2), ev('cy@example.com', 'c1', 'opt_in', t2)], t2);
    expect(results.map((r) => r.enrolled.length)).toEqual([1, 1]);
    expect((await changes('bo@example.com')).map((c) => [c.kind, c.eventId])).toEqual([
      ['unsubscribed', 'b1'],
      ['resubscribed', 'b2'],
    ]);
    expect(await changes('cy@example.com')).toEqual([]);
  });

  it('a call completed as appointment_booked records the promotion with the event made for it', async () => {
    const email = 'dee@example.com';
    await applyEvent(f.deps, ev(email, 'd1', 'opt_in', T0), T0);
    const task = await f.store.db
      .insertInto('tasks')
      .values({ touch_id: null, contact_id: (await row(email)).id, enrollment_id: null, kind: 'call', priority: 'normal', status: 'open', title: 'Intro call', note: null, content: null, address: null, phone: null, history: '[]', due_at: T0.toJSDate() })
      .returning('id')
      .executeTakeFirstOrThrow();
    await completeTask(appContextFor(f.deps), task.id, 'appointment_booked', T0.plus({ hours: 3 }));
    expect((await changes(email)).map((c) => [c.kind, c.to, c.reason, c.eventId])).toEqual([['stage', 'lead', 'event:appointment_requested', `task-${task.id}-outcome`]]);
  });

  it('an unsubscribed lead is still a lead in the stats and listings; contacts show names the email standing', async () => {
    const email = 'eve@example.com';
    await applyEvent(f.deps, ev(email, 'e1', 'opt_in', T0), T0);
    await applyEvent(f.deps, ev(email, 'e2', 'info_requested', T0.plus({ hours: 1 })), T0.plus({ hours: 1 }));
    await applyEvent(f.deps, ev(email, 'e3', 'unsubscribed', T0.plus({ hours: 2 })), T0.plus({ hours: 2 }));
    expect((await listContacts(f.store.db, { status: 'lead' })).map((r) => r.email)).toContain(email);
    expect(await leadsByReason(f.store.db, T0.minus({ minutes: 1 }).toJSDate())).toContainEqual({ reason: 'event:info_requested', leads: 1 });
    expect((await optInLeadStats(f.store.db)).converted).toBeGreaterThanOrEqual(1);
    const shown = await showContact(f.store.db, email, { now: T0.plus({ hours: 3 }), zone: 'UTC' });
    expect(shown.data.contact).toMatchObject({ status: 'lead', emailStanding: 'unsubscribed' });

    // A subscriber who unsubscribed no longer shows as a plain subscriber.
    await applyEvent(f.deps, ev('fay@example.com', 'f1', 'opt_in', T0), T0);
    await applyEvent(f.deps, ev('fay@example.com', 'f2', 'unsubscribed', T0.plus({ hours: 1 })), T0.plus({ hours: 1 }));
    const fay = await showContact(f.store.db, 'fay@example.com', { now: T0.plus({ hours: 3 }), zone: 'UTC' });
    expect(fay.text).toMatch(/^ {2}status {7}unsubscribed since .+ \(subscriber\); no email is sent$/m);
    expect(fay.data.contact.emailStanding).toBe('unsubscribed');
  });
});
