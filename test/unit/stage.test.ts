import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import type { Channel, LifecycleContact, LifecycleEvent } from '../../src/sequences/stage.js';
import { CHANNELS, DEFAULT_PROMOTION_RULES, decideLifecycle, emailStandingOf, mayReceive } from '../../src/sequences/stage.js';

/** The contact's lifecycle: what one event does to the stage and the email standing, and the stop rule. */

const T0 = DateTime.fromISO('2026-11-23T15:00:00Z', { zone: 'utc' });
const iso = (t: DateTime) => t.toUTC().toISO()!;
const subscriber: LifecycleContact = { status: 'subscriber', unsubscribedAt: null, bouncedAt: null };
const ev = (type: string, occurredAt: DateTime = T0, id = `e-${type}`): LifecycleEvent => ({ id, type, occurredAt: iso(occurredAt) });
const decide = (c: LifecycleContact, e: LifecycleEvent, now: DateTime = T0) => decideLifecycle(c, e, DEFAULT_PROMOTION_RULES, now);

describe('decideLifecycle: promotion', () => {
  it('makes a subscriber a lead on a configured lead event: nurture ends, sales gets a call', () => {
    const now = T0.plus({ minutes: 5 });
    expect(decide(subscriber, ev('appointment_requested'), now)).toEqual({
      contact: { ...subscriber, status: 'lead' },
      changes: [{ kind: 'stage', from: 'subscriber', to: 'lead', reason: 'event:appointment_requested', eventId: 'e-appointment_requested', at: iso(now) }],
      effects: [
        { kind: 'end_nurture', reason: 'promoted' },
        { kind: 'lead_call', reason: 'event:appointment_requested' },
      ],
    });
  });

  it('follows NURTURE_PROMOTE_ON, not a built-in list', () => {
    const rules = { onEvents: ['demo_booked'], callOutcomes: [] };
    expect(decideLifecycle(subscriber, ev('demo_booked'), rules, T0).contact.status).toBe('lead');
    expect(decideLifecycle(subscriber, ev('appointment_requested'), rules, T0).changes).toEqual([]);
  });

  it('promotes from the stages before the hand-off, and never a lead twice', () => {
    for (const status of ['engaged', 'mql'] as const) {
      expect(decide({ ...subscriber, status }, ev('info_requested')).changes).toMatchObject([{ kind: 'stage', from: status, to: 'lead' }]);
    }
    for (const status of ['lead', 'customer', 'disqualified'] as const) {
      expect(decide({ ...subscriber, status }, ev('info_requested'))).toEqual({ contact: { ...subscriber, status }, changes: [], effects: [] });
    }
  });

  it('an unsubscribed or bounced contact who asks for a call still becomes a lead: they asked', () => {
    const unsubscribed = { ...subscriber, unsubscribedAt: iso(T0.minus({ days: 1 })) };
    expect(decide(unsubscribed, ev('appointment_requested')).contact).toEqual({ ...unsubscribed, status: 'lead' });
    const bounced = { ...subscriber, bouncedAt: iso(T0.minus({ days: 1 })) };
    expect(decide(bounced, ev('appointment_requested')).effects).toContainEqual({ kind: 'lead_call', reason: 'event:appointment_requested' });
  });
});

describe('decideLifecycle: unsubscribe, bounce, resubscribe', () => {
  it('an unsubscribe ends all nurture and keeps the stage; it is dated when the person acted', () => {
    const lead: LifecycleContact = { ...subscriber, status: 'lead' };
    const d = decide(lead, ev('unsubscribed', T0), T0.plus({ hours: 8 }));
    expect(d.contact).toEqual({ ...lead, unsubscribedAt: iso(T0) });
    expect(d.changes).toEqual([{ kind: 'unsubscribed', from: 'lead', to: 'lead', reason: 'event:unsubscribed', eventId: 'e-unsubscribed', at: iso(T0.plus({ hours: 8 })) }]);
    expect(d.effects).toEqual([{ kind: 'end_nurture', reason: 'unsubscribed' }]);
  });

  it('an event dated in the future is dated now: the producer clock is not trusted past ours', () => {
    expect(decide(subscriber, ev('unsubscribed', T0.plus({ days: 2 })), T0).contact.unsubscribedAt).toBe(iso(T0));
  });

  it('a second unsubscribe or bounce changes nothing', () => {
    const both = { ...subscriber, unsubscribedAt: iso(T0), bouncedAt: iso(T0) };
    expect(decide(both, ev('unsubscribed', T0.plus({ days: 1 })), T0.plus({ days: 1 }))).toEqual({ contact: both, changes: [], effects: [] });
    expect(decide(both, ev('bounced', T0.plus({ days: 1 })), T0.plus({ days: 1 }))).toEqual({ contact: both, changes: [], effects: [] });
  });

  it('a bounce stops email only, and keeps the stage', () => {
    const d = decide(subscriber, ev('bounced'));
    expect(d.contact).toEqual({ ...subscriber, bouncedAt: iso(T0) });
    expect(d.changes).toMatchObject([{ kind: 'bounced', from: 'subscriber', to: 'subscriber', reason: 'event:bounced' }]);
    expect(d.effects).toEqual([{ kind: 'stop_email', reason: 'bounced' }]);
  });

  it('an opt-in made after the unsubscribe subscribes again; one made before it (delivered late) does not', () => {
    const unsubscribed = { ...subscriber, unsubscribedAt: iso(T0) };
    const late = decide(unsubscribed, ev('opt_in', T0.minus({ minutes: 1 })), T0.plus({ hours: 1 }));
    expect(late).toEqual({ contact: unsubscribed, changes: [], effects: [] });
    expect(decide(unsubscribed, ev('opt_in', T0), T0.plus({ hours: 1 })).changes).toEqual([]); // the same instant is no later
    const fresh = decide(unsubscribed, ev('opt_in', T0.plus({ days: 3 })), T0.plus({ days: 3 }));
    expect(fresh.contact).toEqual(subscriber);
    expect(fresh.changes).toMatchObject([{ kind: 'resubscribed', from: 'subscriber', to: 'subscriber', reason: 'event:opt_in', eventId: 'e-opt_in' }]);
    expect(fresh.effects).toEqual([]);
  });

  it('a resubscribe clears the unsubscribe only: a bounced address stays bounced', () => {
    const c = { ...subscriber, unsubscribedAt: iso(T0), bouncedAt: iso(T0) };
    const d = decide(c, ev('opt_in', T0.plus({ days: 1 })), T0.plus({ days: 1 }));
    expect(d.contact).toEqual({ ...c, unsubscribedAt: null });
    expect(mayReceive(d.contact, 'email')).toEqual({ ok: false, reason: 'bounced' });
  });

  it('any other event changes nothing', () => {
    for (const type of ['opt_in', 'email_opened', 'email_clicked', 'replied', 'page_visited', 'purchase']) {
      expect(decide(subscriber, ev(type))).toEqual({ contact: subscriber, changes: [], effects: [] });
    }
  });
});

describe('mayReceive: the stop rule for nurture touches', () => {
  const table = (c: LifecycleContact) => Object.fromEntries(CHANNELS.map((ch) => [ch, mayReceive(c, ch)])) as Record<Channel, unknown>;
  const ok = { ok: true };

  it('a subscriber (and engaged, mql) may receive everything', () => {
    for (const status of ['subscriber', 'engaged', 'mql'] as const) expect(table({ ...subscriber, status })).toEqual({ email: ok, postal: ok, call: ok });
  });

  it('an unsubscribe stops every channel; a bounce stops email only', () => {
    const no = (reason: string) => ({ ok: false, reason });
    expect(table({ ...subscriber, unsubscribedAt: iso(T0) })).toEqual({ email: no('unsubscribed'), postal: no('unsubscribed'), call: no('unsubscribed') });
    expect(table({ ...subscriber, bouncedAt: iso(T0) })).toEqual({ email: no('bounced'), postal: ok, call: ok });
    expect(table({ ...subscriber, unsubscribedAt: iso(T0), bouncedAt: iso(T0) }).email).toEqual(no('unsubscribed'));
  });

  it('past nurture (a lead, a customer, a disqualified contact) no sequence touch goes out', () => {
    for (const status of ['lead', 'customer', 'disqualified'] as const) {
      expect(table({ ...subscriber, status })).toEqual({ email: { ok: false, reason: 'promoted' }, postal: { ok: false, reason: 'promoted' }, call: { ok: false, reason: 'promoted' } });
    }
  });
});

describe('emailStandingOf', () => {
  it('names the standing; an unsubscribe shows before a bounce', () => {
    expect(emailStandingOf(subscriber)).toBe('subscribed');
    expect(emailStandingOf({ unsubscribedAt: iso(T0), bouncedAt: null })).toBe('unsubscribed');
    expect(emailStandingOf({ unsubscribedAt: null, bouncedAt: iso(T0) })).toBe('bounced');
    expect(emailStandingOf({ unsubscribedAt: iso(T0), bouncedAt: iso(T0) })).toBe('unsubscribed');
  });
});

describe('decideLifecycle: a stage set by a person (stage_set)', () => {
  const set = (to: string, reason?: string): LifecycleEvent => ({ ...ev('stage_set'), data: { to, ...(reason ? { reason } : {}) } });

  it('makes a lead a customer with the reason given, and ends what nurture is left', () => {
    expect(decide({ ...subscriber, status: 'lead' }, set('customer', 'signed the annual plan'))).toEqual({
      contact: { ...subscriber, status: 'customer' },
      changes: [{ kind: 'stage', from: 'lead', to: 'customer', reason: 'set: signed the annual plan', eventId: 'e-stage_set', at: iso(T0) }],
      effects: [],
    });
    expect(decide({ ...subscriber, status: 'mql' }, set('disqualified')).effects).toEqual([{ kind: 'end_nurture', reason: 'disqualified' }]);
  });

  it('is the one way back: a lead gone cold returns to nurture', () => {
    const d = decide({ ...subscriber, status: 'lead' }, set('subscriber', 'no budget this year'));
    expect(d.contact.status).toBe('subscriber');
    expect(d.changes).toMatchObject([{ kind: 'stage', from: 'lead', to: 'subscriber', reason: 'set: no budget this year' }]);
    expect(d.effects).toEqual([]);
  });

  it('hands a contact set to lead to sales, as a promotion does', () => {
    expect(decide(subscriber, set('lead')).effects).toEqual([
      { kind: 'end_nurture', reason: 'promoted' },
      { kind: 'lead_call', reason: 'set: by hand' },
    ]);
  });

  it('changes nothing for the stage it is already in, or a stage that does not exist', () => {
    expect(decide(subscriber, set('subscriber')).changes).toEqual([]);
    expect(decide(subscriber, set('vip')).changes).toEqual([]);
    expect(decide(subscriber, { ...ev('stage_set'), data: {} }).changes).toEqual([]);
  });
});

describe('decideLifecycle: an unconfirmed form post after an unsubscribe', () => {
  it('does not undo the unsubscribe (anyone can type an address); a confirmed one does', () => {
    const gone: LifecycleContact = { ...subscriber, unsubscribedAt: iso(T0.minus({ days: 3 })) };
    const post = (confirmed: boolean): LifecycleEvent => ({ ...ev('opt_in'), data: { source: 'website', form: 'news', confirmed } });
    expect(decide(gone, post(false))).toEqual({ contact: gone, changes: [], effects: [] });
    expect(decide(gone, post(true)).changes).toMatchObject([{ kind: 'resubscribed' }]);
  });
});
