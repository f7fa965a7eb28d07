import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import type { LifecycleContact, LifecycleDecision, LifecycleEvent, PromotionRules, Stage } from '../../src/sequences/stage.js';
import { CHANNELS, decideLifecycle, mayReceive, STAGES } from '../../src/sequences/stage.js';

/**
 * Rules of the lifecycle that must hold for every history of events: random events (out of order,
 * late, repeated) folded through decideLifecycle under random promotion rules.
 */

const T0 = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;
const TYPES = ['opt_in', 'unsubscribed', 'bounced', 'appointment_requested', 'info_requested', 'demo_booked', 'email_opened', 'page_visited'];

interface Step {
  event: LifecycleEvent;
  now: DateTime;
}

/** Events in arrival order: the engine clock only moves forward; occurredAt may be anything near it (late or skewed). */
const historyArb: fc.Arbitrary<Step[]> = fc
  .array(fc.record({ type: fc.constantFrom(...TYPES), gapHours: fc.integer({ min: 0, max: 72 }), skewHours: fc.integer({ min: -96, max: 6 }) }), { maxLength: 25 })
  .map((raw) => {
    let clock = T0;
    return raw.map((r, i) => {
      clock += r.gapHours * HOUR;
      return {
        event: { id: `e${i}`, type: r.type, occurredAt: new Date(clock + r.skewHours * HOUR).toISOString() },
        now: DateTime.fromMillis(clock, { zone: 'utc' }),
      };
    });
  });

const rulesArb: fc.Arbitrary<PromotionRules> = fc.record({ onEvents: fc.subarray(TYPES), callOutcomes: fc.constant([]) });
const startArb: fc.Arbitrary<LifecycleContact> = fc.record({
  status: fc.constantFrom<Stage>(...STAGES),
  unsubscribedAt: fc.option(fc.integer({ min: T0 - 200 * HOUR, max: T0 }).map((t) => new Date(t).toISOString()), { nil: null }),
  bouncedAt: fc.option(fc.integer({ min: T0 - 200 * HOUR, max: T0 }).map((t) => new Date(t).toISOString()), { nil: null }),
});

function fold(start: LifecycleContact, steps: Step[], rules: PromotionRules): { before: LifecycleContact; step: Step; d: LifecycleDecision }[] {
  let c = start;
  return steps.map((step) => {
    const before = c;
    const d = decideLifecycle(before, step.event, rules, step.now);
    c = d.contact;
    return { before, step, d };
  });
}

const rank = (s: Stage) => STAGES.indexOf(s);

describe('decideLifecycle over any history of events', () => {
  it('never moves a stage backwards (no rule demotes): once a lead, always at least a lead', () => {
    fc.assert(
      fc.property(startArb, historyArb, rulesArb, (start, steps, rules) => {
        for (const { before, d } of fold(start, steps, rules)) {
          expect(rank(d.contact.status)).toBeGreaterThanOrEqual(rank(before.status));
          if (before.status === 'lead') expect(d.contact.status).toBe('lead');
        }
      }),
    );
  });

  it('an unsubscribed contact may not receive email until an opt-in made after the unsubscribe', () => {
    fc.assert(
      fc.property(startArb, historyArb, rulesArb, (start, steps, rules) => {
        for (const { before, step, d } of fold(start, steps, rules)) {
          if (!before.unsubscribedAt) continue;
          const freshConsent = step.event.type === 'opt_in' && Date.parse(step.event.occurredAt) > Date.parse(before.unsubscribedAt);
          if (!freshConsent) {
            expect(d.contact.unsubscribedAt).toBe(before.unsubscribedAt);
            for (const ch of CHANNELS) expect(mayReceive(d.contact, ch)).toEqual({ ok: false, reason: 'unsubscribed' });
          } else {
            expect(d.contact.unsubscribedAt).toBeNull();
          }
        }
      }),
    );
  });

  it('every change carries a reason and its event, and nothing changes without a recorded change', () => {
    fc.assert(
      fc.property(startArb, historyArb, rulesArb, (start, steps, rules) => {
        for (const { before, step, d } of fold(start, steps, rules)) {
          for (const ch of d.changes) {
            expect(ch.reason).toMatch(/^event:[a-z_]+$/);
            expect(ch.eventId).toBe(step.event.id);
            expect(ch.at).toBe(step.now.toUTC().toISO());
            if (ch.kind !== 'stage') expect(ch.to).toBe(ch.from);
          }
          const kinds = d.changes.map((ch) => ch.kind);
          expect(kinds.includes('stage')).toBe(d.contact.status !== before.status);
          expect(kinds.includes('unsubscribed')).toBe(before.unsubscribedAt === null && d.contact.unsubscribedAt !== null);
          expect(kinds.includes('resubscribed')).toBe(before.unsubscribedAt !== null && d.contact.unsubscribedAt === null);
          expect(kinds.includes('bounced')).toBe(before.bouncedAt !== d.contact.bouncedAt);
          if (d.changes.length === 0) expect(d).toEqual({ contact: before, changes: [], effects: [] });
          // Changes chain: each starts in the stage the previous one ended in.
          d.changes.reduce((from, ch) => (expect(ch.from).toBe(from), ch.to), before.status);
        }
      }),
    );
  });

  it('a promotion always ends nurture and makes one sales call; nothing else makes a call', () => {
    fc.assert(
      fc.property(startArb, historyArb, rulesArb, (start, steps, rules) => {
        let calls = 0;
        for (const { d } of fold(start, steps, rules)) {
          const promoted = d.changes.some((ch) => ch.kind === 'stage' && ch.to === 'lead');
          const leadCalls = d.effects.filter((e) => e.kind === 'lead_call').length;
          expect(leadCalls).toBe(promoted ? 1 : 0);
          if (promoted) expect(d.effects).toContainEqual({ kind: 'end_nurture', reason: 'promoted' });
          calls += leadCalls;
        }
        expect(calls).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('same inputs, same decision, and the input contact is left as it was', () => {
    fc.assert(
      fc.property(startArb, historyArb, rulesArb, (start, steps, rules) => {
        for (const { before, step, d } of fold(start, steps, rules)) {
          const copy = structuredClone(before);
          expect(decideLifecycle(before, step.event, rules, step.now)).toEqual(d);
          expect(before).toEqual(copy);
        }
      }),
    );
  });
});
