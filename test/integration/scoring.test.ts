import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { rebuildScores } from '../../src/app/rebuild-scores.js';
import { sweepScores } from '../../src/app/sweep-scores.js';
import { stageChangesOfContact } from '../../src/db/contact-repository.js';
import { applyEvent, applyEvents } from '../../src/engine/apply-event.js';
import { contactScore } from '../../src/queries/contact-score.js';
import { validateScoring } from '../../src/scoring/load.js';
import type { ScoringRules } from '../../src/scoring/rules.js';
import type { NurtureEvent } from '../../src/sequences/event.js';
import { appContextFor } from '../support/engine.js';
import { useEngineFixture } from '../support/engine-fixture.js';

const RULES_YAML = `
half_life: 10 days
fit:
  - field: attributes.company_size
    gte: 50
    points: 15
  - field: address.country
    in: [US, CA]
    points: 5
engagement:
  - event: email_clicked
    points: 5
    per_day: 10
  - name: pricing page
    event: page_visited
    where: { path: { starts_with: /pricing } }
    points: 10
    max: 30
stages:
  engaged: { engagement: 10 }
  mql:
    fit: 20
    engagement: 40
    fall_back_below: { engagement: 25 }
`;
const loaded = validateScoring(RULES_YAML, 'scoring.yaml');
if (loaded.status !== 'ok') throw new Error(JSON.stringify(loaded));
const RULES: ScoringRules = loaded.rules;

const WELCOME = `
id: welcome
trigger: { event: opt_in }
steps: [ { email: welcome }, { wait: 30 days }, { email: guide } ]
`;
/** The cadence an MQL starts: a notice for sales. */
const MQL = `
id: mql-handoff
trigger: { event: stage_changed, where: { to: mql } }
steps: [ { notify: "New MQL: call them this week" } ]
`;
const T0 = DateTime.fromISO('2026-11-02T15:00:00Z', { zone: 'utc' });
const ADDRESS = { line1: '1 Main St', city: 'Austin', postalCode: '73301', country: 'US' };

describe('lead scoring through the engine', () => {
  const f = useEngineFixture('postgres', [WELCOME, MQL], (d) => ({ ...d, scoring: RULES }));
  let n = 0;
  const ev = (email: string, type: string, at: DateTime, data: Record<string, unknown> = {}, contact: Record<string, unknown> = {}): NurtureEvent => ({
    id: `e${++n}`,
    type,
    occurredAt: at.toISO()!,
    contact: { email, ...contact },
    data,
  });
  const row = (email: string) => f.store.db.selectFrom('contacts').selectAll().where('email', '=', email).executeTakeFirstOrThrow();
  const enrollmentsOf = async (email: string) =>
    (await f.store.db.selectFrom('enrollments').select(['sequence_id', 'status']).where('contact_id', '=', (await row(email)).id).orderBy('enrolled_at').execute()).map(
      (e) => `${e.sequence_id}:${e.status}`,
    );

  it('scores fit at the opt-in, engagement as events arrive, and makes an MQL that a stage_changed trigger enrolls', async () => {
    const email = 'ada@example.com';
    // A batch of opt-ins: the bulk path scores too.
    await applyEvents(f.deps, [ev(email, 'opt_in', T0, {}, { attributes: { company_size: 120 }, address: ADDRESS }), ev('bo@example.com', 'opt_in', T0)], T0);
    expect(await row(email)).toMatchObject({ score: 20, fit_score: 20, engagement_score: 0, status: 'subscriber' });
    expect(await row('bo@example.com')).toMatchObject({ score: 0, status: 'subscriber' });

    const t1 = T0.plus({ hours: 1 });
    await applyEvent(f.deps, ev(email, 'email_clicked', t1), t1);
    await applyEvent(f.deps, ev(email, 'email_clicked', t1), t1);
    const engaged = await row(email);
    expect(engaged.status).toBe('engaged');
    expect(engaged.engagement_score).toBe(10);

    // Points decay from the moment they are earned: these visits happen in the same minute as the clicks.
    for (let i = 0; i < 4; i++) await applyEvent(f.deps, ev(email, 'page_visited', t1, { path: '/pricing/teams' }), t1);
    await applyEvent(f.deps, ev(email, 'page_visited', t1, { path: '/blog' }), t1);
    const mql = await row(email);
    expect(mql.status).toBe('mql');
    // The pricing rule is capped at 30: the fourth visit added nothing, the blog is not scored.
    expect(mql.engagement_score).toBe(40);
    expect(mql.score).toBe(60);

    const changes = (await stageChangesOfContact(f.store.db, mql.id)).map((c) => [c.from_stage, c.to_stage, c.reason]);
    expect(changes).toEqual([
      ['subscriber', 'engaged', 'score: engagement 10 ≥ 10'],
      ['engaged', 'mql', 'score: fit 20 ≥ 20, engagement 40 ≥ 40'],
    ]);
    // The stage_changed event enrolled the contact into the MQL cadence, and the welcome goes on.
    expect(await enrollmentsOf(email)).toEqual(['welcome:active', 'mql-handoff:completed']);
    const notice = await f.store.db.selectFrom('tasks').select(['kind', 'title']).where('contact_id', '=', mql.id).where('kind', '=', 'notice').execute();
    expect(notice).toHaveLength(1);
  });

  it('explains the number: every fit rule and event, its points then and now', async () => {
    const at = T0.plus({ days: 10, hours: 1 });
    const view = await contactScore(f.store.db, RULES, 'ada@example.com', at.toJSDate());
    expect(view.explanation.fitLines.map((l) => [l.field, l.points])).toEqual([
      ['attributes.company_size', 15],
      ['address.country', 5],
    ]);
    const pricing = view.explanation.eventLines.filter((l) => l.rule === 'pricing page');
    expect(pricing.map((l) => l.then)).toEqual([10, 10, 10, 0]);
    // Ten days is one half-life: half of each point is left.
    expect(pricing[0]!.now).toBeCloseTo(5, 9);
    expect(view.explanation.engagement).toBeCloseTo(20, 9);
    expect(view.wouldMove).toEqual({ to: 'engaged', reason: 'score fell back: engagement 20 < 25' });
  });

  it('lets decay alone cross a threshold: the sweep falls the MQL back below the hysteresis line', async () => {
    const email = 'ada@example.com';
    const later = T0.plus({ days: 10, hours: 1 });
    const r = await sweepScores(appContextFor(f.deps), RULES, later);
    expect(r.moves).toBe(1);
    const c = await row(email);
    expect(c.status).toBe('engaged');
    expect(c.score).toBe(40);
    const last = (await stageChangesOfContact(f.store.db, c.id)).at(-1)!;
    expect(last).toMatchObject({ from_stage: 'mql', to_stage: 'engaged', event_id: null, reason: 'score fell back: engagement 20 < 25' });
    // Scored just now: the next sweep leaves it alone.
    expect((await sweepScores(appContextFor(f.deps), RULES, later.plus({ minutes: 5 }))).contacts).toBe(0);
  });

  it('rebuilds everyone after a rule change, saying first (dry run) how many would change stage', async () => {
    const stricter: ScoringRules = { ...RULES, stages: { ...RULES.stages, engaged: { enter: { engagement: 5 }, fallBackBelow: undefined } } };
    const more: ScoringRules = { ...stricter, fit: [...RULES.fit, { label: 'all', field: 'email', test: { op: 'ends_with', value: '@example.com' }, points: 3, group: undefined }] };
    const at = T0.plus({ days: 10, hours: 3 });
    const before = await row('bo@example.com');
    const dry = await rebuildScores(appContextFor(f.deps), more, at, { dryRun: true });
    expect(dry).toMatchObject({ contacts: 2, changed: 2, moves: [], dryRun: true });
    expect(await row('bo@example.com')).toMatchObject({ score: before.score, fit_score: before.fit_score });
    const progress: number[] = [];
    const done = await rebuildScores(appContextFor(f.deps), more, at, { pageSize: 1, onProgress: (d) => progress.push(d) });
    expect(done).toMatchObject({ contacts: 2, changed: 2, dryRun: false });
    expect(progress).toEqual([0, 1, 2]);
    expect(await row('bo@example.com')).toMatchObject({ score: 3, fit_score: 3 });
    expect((await row('ada@example.com')).fit_score).toBe(23);
  });
});
