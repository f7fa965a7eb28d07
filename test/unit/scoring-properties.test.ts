import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EngagementRule, ScoringRules } from '../../src/scoring/rules.js';
import type { ScoredContact, ScoredEvent } from '../../src/scoring/score.js';
import { computeScore, explainScore } from '../../src/scoring/score.js';
import { decideScoreStage } from '../../src/scoring/stages.js';
import type { Stage } from '../../src/sequences/stage.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-12-01T12:00:00Z');
const TYPES = ['email_clicked', 'page_visited', 'webinar_attended'] as const;

const contact: ScoredContact = {
  email: 'ada@example.com',
  firstName: 'Ada',
  lastName: null,
  phone: null,
  timezone: null,
  address: { line1: '1 Main St', city: 'Austin', postalCode: '73301', country: 'US' },
  attributes: { company_size: 120 },
  tags: [],
};

const rule: fc.Arbitrary<EngagementRule> = fc.record({
  label: fc.constantFrom('a', 'b', 'c'),
  event: fc.constantFrom(...TYPES),
  where: fc.constant({}),
  points: fc.integer({ min: 1, max: 30 }),
  perDay: fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined }),
  max: fc.option(fc.integer({ min: 1, max: 80 }), { nil: undefined }),
  group: fc.option(fc.constant('g'), { nil: undefined }),
  halfLifeMs: fc.option(fc.integer({ min: DAY, max: 90 * DAY }), { nil: null }),
});

const rules: fc.Arbitrary<ScoringRules> = fc.record({
  fit: fc.constant([
    { label: 'size', field: 'attributes.company_size', test: { op: 'gte' as const, value: 50 }, points: 15, group: undefined },
    { label: 'na', field: 'address.country', test: { op: 'in' as const, value: ['US', 'CA'] }, points: 5, group: undefined },
  ]),
  engagement: fc.array(rule, { minLength: 1, maxLength: 4 }).map((list) => list.map((x, i) => ({ ...x, label: `r${i}` }))),
  groupCaps: fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }).map((cap): Record<string, number> => (cap === undefined ? {} : { g: cap })),
  stages: fc.constant({}),
});

const event: fc.Arbitrary<ScoredEvent> = fc.record({
  id: fc.uuid(),
  type: fc.constantFrom(...TYPES),
  at: fc.integer({ min: NOW - 200 * DAY, max: NOW }),
  data: fc.constant({}),
});
const events = fc.uniqueArray(event, { maxLength: 30, selector: (e) => e.id });
const EPS = 1e-9;

describe('the score', () => {
  it('gives the same score for the same inputs, in whatever order the events come', () => {
    fc.assert(
      fc.property(rules, events.chain((evs) => fc.tuple(fc.constant(evs), fc.shuffledSubarray(evs, { minLength: evs.length, maxLength: evs.length }))), (r, [evs, shuffled]) => {
        expect(computeScore(r, contact, shuffled, NOW)).toEqual(computeScore(r, contact, evs, NOW));
      }),
    );
  });

  it('never goes down when an event is added', () => {
    fc.assert(
      fc.property(rules, events, event, (r, evs, extra) => {
        fc.pre(!evs.some((e) => e.id === extra.id));
        const before = computeScore(r, contact, evs, NOW);
        const after = computeScore(r, contact, [...evs, extra], NOW);
        expect(after.engagement).toBeGreaterThanOrEqual(before.engagement - EPS);
      }),
    );
  });

  it('decays toward the fit score when nothing more happens', () => {
    fc.assert(
      fc.property(rules, events, fc.integer({ min: 1, max: 400 }), (r, evs, days) => {
        const decaying = { ...r, engagement: r.engagement.map((x) => ({ ...x, halfLifeMs: x.halfLifeMs ?? 30 * DAY })) };
        const now = computeScore(decaying, contact, evs, NOW);
        const later = computeScore(decaying, contact, evs, NOW + days * DAY);
        expect(later.fit).toBe(now.fit);
        expect(later.engagement).toBeLessThanOrEqual(now.engagement + EPS);
        const much = computeScore(decaying, contact, evs, NOW + 10_000 * DAY);
        expect(much.total - much.fit).toBeLessThan(1e-6);
        expect(now.fit).toBe(20);
      }),
    );
  });

  it('keeps every cap: per day, per rule and per group', () => {
    fc.assert(
      fc.property(rules, events, (r, evs) => {
        const x = explainScore(r, contact, evs, NOW);
        r.engagement.forEach((rule) => {
          const lines = x.eventLines.filter((l) => l.rule === rule.label);
          for (const l of lines) expect(l.then).toBeLessThanOrEqual(rule.points + EPS);
          if (rule.max !== undefined) expect(lines.reduce((s, l) => s + l.now, 0)).toBeLessThanOrEqual(rule.max + EPS);
          if (rule.perDay !== undefined) {
            const byDay = new Map<number, number>();
            for (const l of lines) byDay.set(Math.floor(l.at / DAY), (byDay.get(Math.floor(l.at / DAY)) ?? 0) + l.then);
            for (const v of byDay.values()) expect(v).toBeLessThanOrEqual(rule.perDay + EPS);
          }
        });
        const cap = r.groupCaps.g;
        if (cap !== undefined) {
          const ungrouped = x.eventLines.filter((l) => r.engagement.some((o) => o.label === l.rule && o.group === undefined));
          expect(x.engagement - ungrouped.reduce((s, l) => s + l.now, 0)).toBeLessThanOrEqual(cap + EPS);
        }
      }),
    );
  });

  it('explains every point: the lines add up to the score', () => {
    fc.assert(
      fc.property(rules, events, (r, evs) => {
        const x = explainScore(r, contact, evs, NOW);
        const lines = x.eventLines.reduce((s, l) => s + l.now, 0) - x.caps.reduce((s, c) => s + c.cut, 0);
        expect(Math.abs(lines - x.engagement)).toBeLessThan(1e-6);
        expect(x.fitLines.reduce((s, l) => s + l.points, 0)).toBe(x.fit);
      }),
    );
  });

  it('ignores events after the instant asked about', () => {
    const r: ScoringRules = { fit: [], engagement: [{ label: 'c', event: 'email_clicked', where: {}, points: 5, perDay: undefined, max: undefined, group: undefined, halfLifeMs: null }], groupCaps: {}, stages: {} };
    const evs = [{ id: '1', type: 'email_clicked', at: NOW - DAY, data: {} }, { id: '2', type: 'email_clicked', at: NOW + DAY, data: {} }];
    expect(computeScore(r, contact, evs, NOW).engagement).toBe(5);
  });

  it('halves points every half-life', () => {
    const r: ScoringRules = { fit: [], engagement: [{ label: 'c', event: 'email_clicked', where: {}, points: 8, perDay: undefined, max: undefined, group: undefined, halfLifeMs: 30 * DAY }], groupCaps: {}, stages: {} };
    const evs = [{ id: '1', type: 'email_clicked', at: NOW - 60 * DAY, data: {} }];
    expect(computeScore(r, contact, evs, NOW).engagement).toBeCloseTo(2, 10);
  });
});

describe('stages from the score', () => {
  const stages: ScoringRules['stages'] = {
    engaged: { enter: { engagement: 10 }, fallBackBelow: { engagement: 3 } },
    mql: { enter: { fit: 20, engagement: 40 }, fallBackBelow: { engagement: 25 } },
  };
  const r: ScoringRules = { fit: [], engagement: [], groupCaps: {}, stages };
  const score = (fit: number, engagement: number) => ({ fit, engagement, total: fit + engagement });
  const scoreArb = fc.tuple(fc.integer({ min: -20, max: 60 }), fc.double({ min: 0, max: 100, noNaN: true })).map(([f, e]) => score(f, e));

  it('makes an MQL at fit ≥ 20 and engagement ≥ 40, and says why', () => {
    expect(decideScoreStage('subscriber', score(20, 40), r)).toEqual({ from: 'subscriber', to: 'mql', reason: 'score: fit 20 ≥ 20, engagement 40 ≥ 40' });
    expect(decideScoreStage('subscriber', score(19, 90), r)?.to).toBe('engaged');
  });

  it('does not flap: one decision and then none for the same score, and small drops keep the stage', () => {
    fc.assert(
      fc.property(fc.constantFrom<Stage>('subscriber', 'engaged', 'mql'), scoreArb, (stage, s) => {
        const first = decideScoreStage(stage, s, r);
        const settled = first ? first.to : stage;
        expect(decideScoreStage(settled, s, r)).toBeNull();
      }),
    );
    expect(decideScoreStage('mql', score(25, 30), r)).toBeNull();
    expect(decideScoreStage('mql', score(25, 24), r)?.to).toBe('engaged');
  });

  it('moves forward only when the stage has no fall-back, and never moves leads, customers or the disqualified', () => {
    const forward: ScoringRules = { ...r, stages: { engaged: { enter: { engagement: 10 }, fallBackBelow: undefined }, mql: { enter: { engagement: 40 }, fallBackBelow: undefined } } };
    fc.assert(
      fc.property(fc.constantFrom<Stage>('subscriber', 'engaged', 'mql'), scoreArb, (stage, s) => {
        const d = decideScoreStage(stage, s, forward);
        if (d) expect(['subscriber', 'engaged', 'mql'].indexOf(d.to)).toBeGreaterThan(['subscriber', 'engaged', 'mql'].indexOf(stage));
      }),
    );
    fc.assert(
      fc.property(fc.constantFrom<Stage>('lead', 'customer', 'disqualified'), scoreArb, (stage, s) => {
        expect(decideScoreStage(stage, s, r)).toBeNull();
      }),
    );
  });
});
