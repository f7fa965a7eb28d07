import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import type { PastEnrollment, PromotionRules } from '../../src/sequences/lifecycle.js';
import { DEFAULT_PROMOTION_RULES, isTriggeredBy, mayEnter, promotionReason } from '../../src/sequences/lifecycle.js';
import type { SequenceDefinition } from '../../src/sequences/schema.js';
import { contact, programFromYaml } from '../support/programs.js';

/** Contact-level rules: who may enter a sequence, who becomes a lead, which events trigger what. */

const definition = (yaml: string): SequenceDefinition => programFromYaml(yaml).definition;

const withReentry = (reentry: string, extra = ''): SequenceDefinition =>
  definition(`
id: welcome
trigger: { event: opt_in }
reentry: ${reentry}
${extra}
steps:
  - email: welcome
`);

const ONCE = withReentry('once');
const ALWAYS = withReentry('always');
const AFTER_90 = withReentry('{ after: 90 days }');

const ZONE = 'America/Chicago';
const T0 = DateTime.fromISO('2026-01-10T16:00:00Z', { zone: 'utc' }); // 10:00 CST in Chicago
const NOW = T0.plus({ days: 3 });

const past = (status: PastEnrollment['status'], enrolledAt: DateTime = T0): PastEnrollment => ({ enrolledAt: enrolledAt.toISO()!, status });

describe('mayEnter: reentry once', () => {
  it('lets a contact in the first time', () => {
    expect(mayEnter(ONCE, contact(), [], NOW, 'UTC')).toEqual({ enter: true });
  });

  it('does not let them in again once an enrollment has ended, whatever its outcome', () => {
    for (const status of ['completed', 'exited', 'converted'] as const) {
      expect(mayEnter(ONCE, contact(), [past(status)], NOW.plus({ years: 3 }), 'UTC')).toEqual({ enter: false, reason: 'reentry: once' });
    }
  });

  it('is the default when a sequence says nothing about reentry', () => {
    const def = definition('id: plain\ntrigger: { event: opt_in }\nsteps:\n  - email: welcome\n');
    expect(def.reentry).toBe('once');
    expect(mayEnter(def, contact(), [past('completed')], NOW, 'UTC')).toEqual({ enter: false, reason: 'reentry: once' });
  });

  it('reports an active enrollment as already enrolled', () => {
    expect(mayEnter(ONCE, contact(), [past('active')], NOW, 'UTC')).toEqual({ enter: false, reason: 'already enrolled' });
  });
});

describe('mayEnter: reentry always', () => {
  it('lets a contact in again after any number of ended enrollments', () => {
    expect(mayEnter(ALWAYS, contact(), [], NOW, 'UTC')).toEqual({ enter: true });
    expect(mayEnter(ALWAYS, contact(), [past('completed'), past('exited', T0.plus({ days: 1 })), past('converted', T0.plus({ days: 2 }))], NOW, 'UTC')).toEqual({
      enter: true,
    });
  });

  it('never while an enrollment in that sequence is active', () => {
    expect(mayEnter(ALWAYS, contact(), [past('active')], NOW, 'UTC')).toEqual({ enter: false, reason: 'already enrolled' });
    expect(mayEnter(ALWAYS, contact(), [past('completed'), past('active', T0.plus({ days: 1 }))], NOW, 'UTC')).toEqual({
      enter: false,
      reason: 'already enrolled',
    });
  });
});

describe('mayEnter: reentry { after: 90 days }', () => {
  // 90 calendar days in Chicago from 10:00 CST on 2026-01-10 is 10:00 CDT on 2026-04-10: 15:00Z,
  // an hour earlier in UTC than 90 × 24 hours (16:00Z), because DST began on 2026-03-08.
  const BOUNDARY = DateTime.fromISO('2026-04-10T15:00:00Z', { zone: 'utc' });
  const chicago = contact({ timezone: ZONE });

  it('lets a contact in the first time', () => {
    expect(mayEnter(AFTER_90, chicago, [], NOW, 'UTC')).toEqual({ enter: true });
  });

  it('refuses before the boundary, naming it in the contact zone', () => {
    expect(mayEnter(AFTER_90, chicago, [past('completed')], T0.plus({ days: 30 }), 'UTC')).toEqual({
      enter: false,
      reason: 'reentry: not before 2026-04-10T10:00:00.000-05:00',
    });
    expect(mayEnter(AFTER_90, chicago, [past('completed')], BOUNDARY.minus({ milliseconds: 1 }), 'UTC').enter).toBe(false);
  });

  it('lets them in on and after the boundary', () => {
    expect(mayEnter(AFTER_90, chicago, [past('completed')], BOUNDARY, 'UTC')).toEqual({ enter: true });
    expect(mayEnter(AFTER_90, chicago, [past('exited')], BOUNDARY.plus({ days: 200 }), 'UTC')).toEqual({ enter: true });
  });

  it('counts calendar days in the contact zone, not 24-hour days in UTC', () => {
    const between = BOUNDARY.plus({ minutes: 30 }); // past the Chicago boundary, before the UTC one
    expect(mayEnter(AFTER_90, chicago, [past('completed')], between, 'UTC')).toEqual({ enter: true });
    expect(mayEnter(AFTER_90, contact({ timezone: 'UTC' }), [past('completed')], between, ZONE)).toEqual({
      enter: false,
      reason: 'reentry: not before 2026-04-10T16:00:00.000+00:00',
    });
  });

  it('falls back to the sequence zone, then the default zone, when the contact has none', () => {
    const between = BOUNDARY.plus({ minutes: 30 });
    const noZone = contact({ timezone: null });
    expect(mayEnter(AFTER_90, noZone, [past('completed')], between, ZONE)).toEqual({ enter: true });
    expect(mayEnter(AFTER_90, noZone, [past('completed')], between, 'UTC').enter).toBe(false);
    const inChicago = withReentry('{ after: 90 days }', `timezone: ${ZONE}`);
    expect(mayEnter(inChicago, noZone, [past('completed')], between, 'UTC')).toEqual({ enter: true });
  });

  it('counts from the latest past enrollment', () => {
    const later = T0.plus({ days: 100 });
    const history = [past('completed', later), past('exited')];
    expect(mayEnter(AFTER_90, chicago, history, BOUNDARY.plus({ days: 1 }), 'UTC').enter).toBe(false);
    expect(mayEnter(AFTER_90, chicago, history, later.plus({ days: 90 }), 'UTC')).toEqual({ enter: true });
  });

  it('never while an enrollment in that sequence is active', () => {
    expect(mayEnter(AFTER_90, chicago, [past('active')], BOUNDARY.plus({ years: 1 }), 'UTC')).toEqual({ enter: false, reason: 'already enrolled' });
  });
});

describe('mayEnter: contacts who never enter', () => {
  const unsubscribed = contact({ unsubscribedAt: '2026-01-01T00:00:00.000Z' });
  const lead = contact({ status: 'lead' });

  it('an unsubscribed contact enters no sequence, whatever its reentry policy', () => {
    for (const def of [ONCE, ALWAYS, AFTER_90]) {
      expect(mayEnter(def, unsubscribed, [], NOW, 'UTC')).toEqual({ enter: false, reason: 'unsubscribed' });
      expect(mayEnter(def, unsubscribed, [past('completed')], NOW.plus({ years: 2 }), 'UTC')).toEqual({ enter: false, reason: 'unsubscribed' });
    }
  });

  it('a lead enters no sequence: nurture is over for them', () => {
    for (const def of [ONCE, ALWAYS, AFTER_90]) {
      expect(mayEnter(def, lead, [], NOW, 'UTC')).toEqual({ enter: false, reason: 'already a lead' });
    }
  });

  it('past a lead (a customer, a disqualified contact) no sequence either', () => {
    expect(mayEnter(ALWAYS, contact({ status: 'customer' }), [], NOW, 'UTC')).toEqual({ enter: false, reason: 'past nurture: customer' });
    expect(mayEnter(ALWAYS, contact({ status: 'disqualified' }), [], NOW, 'UTC')).toEqual({ enter: false, reason: 'past nurture: disqualified' });
  });

  it('a bounced contact still enters: mail pieces and calls reach them (its emails are skipped)', () => {
    expect(mayEnter(ONCE, contact({ bouncedAt: '2026-01-01T00:00:00.000Z' }), [], NOW, 'UTC')).toEqual({ enter: true });
    expect(mayEnter(ONCE, contact({ status: 'engaged', bouncedAt: '2026-01-01T00:00:00.000Z' }), [], NOW, 'UTC')).toEqual({ enter: true });
  });
});

describe('promotionReason', () => {
  const subscriber = contact();

  it('names the configured lead events', () => {
    expect(promotionReason(subscriber, 'appointment_requested', DEFAULT_PROMOTION_RULES)).toBe('appointment_requested');
    expect(promotionReason(subscriber, 'info_requested', DEFAULT_PROMOTION_RULES)).toBe('info_requested');
  });

  it('is null for any other event', () => {
    for (const type of ['opt_in', 'email_opened', 'email_clicked', 'replied', 'page_visited', 'unsubscribed', 'purchase']) {
      expect(promotionReason(subscriber, type, DEFAULT_PROMOTION_RULES)).toBeNull();
    }
  });

  it('follows the configuration, not a built-in list', () => {
    const rules: PromotionRules = { onEvents: ['demo_booked'], callOutcomes: [] };
    expect(promotionReason(subscriber, 'demo_booked', rules)).toBe('demo_booked');
    expect(promotionReason(subscriber, 'appointment_requested', rules)).toBeNull();
    expect(promotionReason(subscriber, 'appointment_requested', { onEvents: [], callOutcomes: [] })).toBeNull();
  });

  it('is null for a contact who is already a lead', () => {
    expect(promotionReason({ status: 'lead' }, 'appointment_requested', DEFAULT_PROMOTION_RULES)).toBeNull();
    expect(promotionReason({ status: 'lead' }, 'demo_booked', { onEvents: ['demo_booked'], callOutcomes: [] })).toBeNull();
  });
});

describe('isTriggeredBy', () => {
  it('matches the event type, and a where filter against the event data', () => {
    const def = definition(`
id: website
trigger: { event: opt_in, where: { source: website } }
steps:
  - email: welcome
`);
    expect(isTriggeredBy(def, { type: 'opt_in', data: { source: 'website' } })).toBe(true);
    expect(isTriggeredBy(def, { type: 'opt_in', data: { source: 'website', extra: 1 } })).toBe(true);
    expect(isTriggeredBy(def, { type: 'opt_in', data: { source: 'webinar' } })).toBe(false);
    expect(isTriggeredBy(def, { type: 'opt_in', data: {} })).toBe(false);
    expect(isTriggeredBy(def, { type: 'page_visited', data: { source: 'website' } })).toBe(false);
  });

  it('without where, any event of the type triggers', () => {
    const def = definition('id: all\ntrigger: { event: opt_in }\nsteps:\n  - email: welcome\n');
    expect(isTriggeredBy(def, { type: 'opt_in', data: {} })).toBe(true);
    expect(isTriggeredBy(def, { type: 'opt_in', data: { source: 'anything' } })).toBe(true);
    expect(isTriggeredBy(def, { type: 'opt_out', data: {} })).toBe(false);
  });

  it('a list value means "any of", and every key must match', () => {
    const def = definition(`
id: lists
trigger: { event: opt_in, where: { source: [website, webinar], list: main } }
steps:
  - email: welcome
`);
    expect(isTriggeredBy(def, { type: 'opt_in', data: { source: 'website', list: 'main' } })).toBe(true);
    expect(isTriggeredBy(def, { type: 'opt_in', data: { source: 'webinar', list: 'main' } })).toBe(true);
    expect(isTriggeredBy(def, { type: 'opt_in', data: { source: 'referral', list: 'main' } })).toBe(false);
    expect(isTriggeredBy(def, { type: 'opt_in', data: { source: 'website', list: 'other' } })).toBe(false);
    expect(isTriggeredBy(def, { type: 'opt_in', data: { source: 'website' } })).toBe(false);
    // The data value itself is compared, not searched: a list in the data is no member of the filter.
    expect(isTriggeredBy(def, { type: 'opt_in', data: { source: ['website'], list: 'main' } })).toBe(false);
  });

  it('compares numbers and booleans by value and type', () => {
    const def = definition(`
id: typed
trigger: { event: page_visited, where: { visits: [3, 4], returning: true } }
steps:
  - email: welcome
`);
    expect(isTriggeredBy(def, { type: 'page_visited', data: { visits: 3, returning: true } })).toBe(true);
    expect(isTriggeredBy(def, { type: 'page_visited', data: { visits: 4, returning: true } })).toBe(true);
    expect(isTriggeredBy(def, { type: 'page_visited', data: { visits: '3', returning: true } })).toBe(false);
    expect(isTriggeredBy(def, { type: 'page_visited', data: { visits: 3, returning: 'true' } })).toBe(false);
    expect(isTriggeredBy(def, { type: 'page_visited', data: { visits: 5, returning: true } })).toBe(false);
  });

  it('with several triggers, any one of them starts the sequence', () => {
    const def = definition(`
id: several
trigger:
  - { event: opt_in, where: { source: website } }
  - { event: page_visited, where: { path: [/pricing, /demo] } }
  - { event: info_requested }
steps:
  - email: welcome
`);
    expect(def.trigger).toHaveLength(3);
    expect(isTriggeredBy(def, { type: 'opt_in', data: { source: 'website' } })).toBe(true);
    expect(isTriggeredBy(def, { type: 'page_visited', data: { path: '/pricing' } })).toBe(true);
    expect(isTriggeredBy(def, { type: 'page_visited', data: { path: '/demo' } })).toBe(true);
    expect(isTriggeredBy(def, { type: 'info_requested', data: { anything: 1 } })).toBe(true);
    // A filter belongs to its own trigger: the opt-in's source does not open the page trigger.
    expect(isTriggeredBy(def, { type: 'opt_in', data: { source: 'webinar', path: '/pricing' } })).toBe(false);
    expect(isTriggeredBy(def, { type: 'page_visited', data: { path: '/blog', source: 'website' } })).toBe(false);
    expect(isTriggeredBy(def, { type: 'email_opened', data: {} })).toBe(false);
  });
});
