import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import type { AdvanceInput, EnrollmentState } from '../../src/sequences/advance.js';
import { advance } from '../../src/sequences/advance.js';
import { migrateState } from '../../src/sequences/migrate.js';
import { simulate } from '../../src/sequences/simulate.js';
import { EXAMPLE_SEQUENCE, contact, programFromYaml } from '../support/programs.js';

const ZONE = 'America/Chicago';
const START = DateTime.fromISO('2026-11-22T10:00:00', { zone: ZONE });
const settings = { defaultZone: 'UTC' };

function base(program = programFromYaml(EXAMPLE_SEQUENCE)): Omit<AdvanceInput, 'trigger' | 'state' | 'now'> {
  return { program, enrollmentId: 'e-1', contact: contact(), history: [], recentEmails: [], settings };
}

describe('advance: the example sequence over 18 months', () => {
  const program = programFromYaml(EXAMPLE_SEQUENCE);
  const sim = simulate(program, contact(), START, [], settings);
  const touches = sim.timeline.filter((t) => t.kind === 'touch').map((t) => t.action!);

  it('sends every touch once, in order, and completes', () => {
    expect(sim.outcome).toBe('completed');
    const summary = touches.map((a) => ('template' in a ? `${a.kind}:${a.template}` : a.kind));
    expect(summary).toEqual([
      'email:welcome',
      'email:buyers-guide',
      'mail_task:hello-postcard',
      'call_task',
      ...Array.from({ length: 18 }, () => 'email:monthly-value'),
    ]);
    const keys = touches.map((a) => ('key' in a ? a.key : ''));
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.slice(-2)).toEqual(['monthly-value#17', 'monthly-value#18']);
  });

  it('spaces the touches as written, in the contact zone', () => {
    const emails = touches.filter((a) => a.kind === 'email').map((a) => DateTime.fromISO(a.dueAt, { zone: ZONE }));
    expect(emails[0]!.toISO()).toBe(START.toISO());
    expect(emails[1]!.toISO()).toBe(START.plus({ days: 2 }).toISO());
    const postcard = touches.find((a) => a.kind === 'mail_task')!;
    // 5 days after the start, due 2 business days later: Fri 27 Nov -> Tue 1 Dec.
    expect(DateTime.fromISO(postcard.dueAt, { zone: ZONE }).toISODate()).toBe('2026-12-01');
    const last = emails.at(-1)!;
    expect(last.diff(START, 'months').months).toBeGreaterThan(18);
    expect(last.diff(START, 'months').months).toBeLessThan(19);
  });

  it('sends monthly emails only inside their weekday 09:00-17:00 window, local time', () => {
    const monthly = touches.filter((a) => a.kind === 'email' && a.template === 'monthly-value');
    for (const a of monthly) {
      const t = DateTime.fromISO(a.kind === 'email' ? a.dueAt : '', { zone: ZONE });
      expect(t.weekday).toBeLessThanOrEqual(5);
      expect(t.hour * 60 + t.minute).toBeGreaterThanOrEqual(9 * 60);
      expect(t.hour * 60 + t.minute).toBeLessThan(17 * 60);
    }
  });

  it('keeps the monthly cadence: a send delayed by its window does not push the later months back', () => {
    const monthly = touches.filter((a) => a.kind === 'email' && a.template === 'monthly-value').map((a) => DateTime.fromISO(a.kind === 'email' ? a.dueAt : '', { zone: ZONE }));
    // The repeat begins on Sun 29 Nov (the day of the call): every month on the 29th (28th in
    // February 2027), or the next weekday morning when the 29th is a weekend.
    for (const [k, t] of monthly.entries()) {
      const turn = DateTime.fromISO('2026-11-29T10:00:00', { zone: ZONE }).plus({ months: k + 1 });
      expect(t >= turn).toBe(true);
      expect(t.diff(turn, 'days').days).toBeLessThan(3);
    }
    expect(monthly.filter((t) => t.day === 29 || (t.month === 2 && t.day === 28)).length).toBeGreaterThanOrEqual(12);
  });

  it('gives the same timeline when the state is saved and reloaded between every step', () => {
    let state: EnrollmentState | null = null;
    let now = START;
    let trigger: AdvanceInput['trigger'] = { kind: 'start' };
    const keys: string[] = [];
    for (let i = 0; i < 200; i++) {
      const r = advance({ ...base(program), state, trigger, now });
      keys.push(...r.actions.map((a) => ('key' in a ? `${a.key}@${'dueAt' in a ? a.dueAt : ''}` : a.kind)));
      state = JSON.parse(JSON.stringify(r.state)) as EnrollmentState;
      if (!r.wakeAt) break;
      now = DateTime.fromISO(r.wakeAt.toISO()!, { setZone: true });
      trigger = { kind: 'wake' };
    }
    const expected = touches.map((a) => ('key' in a ? `${a.key}@${'dueAt' in a ? a.dueAt : ''}` : a.kind));
    expect(keys).toEqual(expected);
  });
});

describe('advance: wake-ups', () => {
  const program = programFromYaml(EXAMPLE_SEQUENCE);

  it('ignores a wake-up that comes before the wait is over', () => {
    const first = advance({ ...base(program), state: null, trigger: { kind: 'start' }, now: START });
    const early = advance({ ...base(program), state: first.state, trigger: { kind: 'wake' }, now: START.plus({ days: 1 }) });
    expect(early.changed).toBe(false);
    expect(early.actions).toEqual([]);
    expect(early.wakeAt!.toISO()).toBe(first.wakeAt!.toISO());
  });

  it('restarts the clock after an outage instead of sending the backlog in a burst', () => {
    const first = advance({ ...base(program), state: null, trigger: { kind: 'start' }, now: START });
    const late = START.plus({ days: 10 });
    const r = advance({ ...base(program), state: first.state, trigger: { kind: 'wake' }, now: late });
    expect(r.actions.map((a) => a.kind)).toEqual(['email']);
    expect(r.wakeAt!.toMillis()).toBe(late.plus({ days: 3 }).toMillis());
  });

  it('keeps the logical time when the worker is only a little late', () => {
    const first = advance({ ...base(program), state: null, trigger: { kind: 'start' }, now: START });
    const r = advance({ ...base(program), state: first.state, trigger: { kind: 'wake' }, now: first.wakeAt!.plus({ minutes: 5 }) });
    expect(r.actions[0]).toMatchObject({ kind: 'email', dueAt: first.wakeAt!.toISO() });
  });
});

describe('advance: events', () => {
  const program = programFromYaml(`
id: s
trigger: { event: opt_in }
exit: [ { event: unsubscribed }, { event: custom.left, where: { reason: moved } } ]
goals: [ { event: purchase } ]
steps:
  - email: welcome
  - wait: 3 days
  - email: guide
`);
  const started = advance({ ...base(program), state: null, trigger: { kind: 'start' }, now: START });

  it('exits on an exit event and converts on a goal', () => {
    const exit = advance({ ...base(program), state: started.state, trigger: { kind: 'event', event: { type: 'custom.left', data: { reason: 'moved' } } }, now: START });
    expect(exit).toMatchObject({ outcome: 'exited', reason: 'exit:custom.left', wakeAt: null });
    const other = advance({ ...base(program), state: started.state, trigger: { kind: 'event', event: { type: 'custom.left', data: { reason: 'other' } } }, now: START });
    expect(other.changed).toBe(false);
    const goal = advance({ ...base(program), state: started.state, trigger: { kind: 'event', event: { type: 'purchase', data: {} } }, now: START });
    expect(goal).toMatchObject({ outcome: 'converted', reason: 'goal:purchase' });
  });

  it('ignores events it does not care about', () => {
    const r = advance({ ...base(program), state: started.state, trigger: { kind: 'event', event: { type: 'page_visited', data: {} } }, now: START });
    expect(r.changed).toBe(false);
  });

  it('skips emails to a bounced contact but carries on', () => {
    const r = advance({ ...base(program), contact: contact({ bouncedAt: START.toISO()! }), state: null, trigger: { kind: 'start' }, now: START });
    expect(r.actions).toEqual([{ kind: 'skipped', stepId: 'welcome', key: 'welcome', reason: 'bounced', dueAt: START.toISO() }]);
    expect(r.wakeAt).not.toBeNull();
  });
});

describe('advance: wait_for and if', () => {
  const program = programFromYaml(`
id: s
trigger: { event: opt_in }
steps:
  - email: guide
  - wait_for: { event: email_clicked, step: guide, timeout: 3 days }
    on_event:
      - tag: engaged
      - call: "They clicked the guide: call"
    on_timeout:
      - email: nudge
  - if: { tag: engaged }
    then: [ { email: thanks } ]
    else: [ { email: last-try } ]
`);

  it('takes on_event when the email is clicked, and the if sees the tag it set', () => {
    const s = advance({ ...base(program), state: null, trigger: { kind: 'start' }, now: START });
    const click = advance({
      ...base(program),
      state: s.state,
      trigger: { kind: 'event', event: { type: 'email_clicked', data: {}, ref: { enrollmentId: 'e-1', stepId: 'guide' } } },
      now: START.plus({ hours: 5 }),
    });
    expect(click.actions.map((a) => a.kind)).toEqual(['tag', 'call_task', 'email']);
    expect(click.actions[2]).toMatchObject({ template: 'thanks' });
    expect(click.outcome).toBe('completed');
  });

  it('ignores a click on another enrollment or step', () => {
    const s = advance({ ...base(program), state: null, trigger: { kind: 'start' }, now: START });
    const other = advance({
      ...base(program),
      state: s.state,
      trigger: { kind: 'event', event: { type: 'email_clicked', data: {}, ref: { enrollmentId: 'e-2', stepId: 'guide' } } },
      now: START.plus({ hours: 5 }),
    });
    expect(other.changed).toBe(false);
  });

  it('takes on_timeout when nothing happens', () => {
    const s = advance({ ...base(program), state: null, trigger: { kind: 'start' }, now: START });
    const r = advance({ ...base(program), state: s.state, trigger: { kind: 'wake' }, now: s.wakeAt! });
    expect(r.actions.map((a) => ('template' in a ? a.template : a.kind))).toEqual(['nudge', 'last-try']);
  });
});

describe('advance: frequency cap', () => {
  it('delays a capped email, visibly, instead of dropping it', () => {
    const program = programFromYaml(`
id: s
trigger: { event: opt_in }
steps: [ { email: welcome } ]
`);
    const earlier = START.minus({ hours: 2 }).toISO()!;
    const r = advance({ ...base(program), recentEmails: [earlier], settings: { defaultZone: 'UTC', caps: { perDay: 1 } }, state: null, trigger: { kind: 'start' }, now: START });
    expect(r.actions).toEqual([]);
    expect(r.state.pending).toMatchObject({ kind: 'deferred', reason: 'frequency_cap' });
    expect(r.wakeAt!.toMillis()).toBe(DateTime.fromISO(earlier).plus({ hours: 24 }).toMillis());
    const later = advance({ ...base(program), recentEmails: [earlier], settings: { defaultZone: 'UTC', caps: { perDay: 1 } }, state: r.state, trigger: { kind: 'wake' }, now: r.wakeAt! });
    expect(later.actions.map((a) => a.kind)).toEqual(['email']);
  });
});

describe('migrateState: live edits by step id', () => {
  const v1 = programFromYaml(`
id: s
trigger: { event: opt_in }
steps:
  - email: welcome
  - wait: 2 days
  - email: guide
  - wait: 2 days
  - email: offer
`);
  const v2 = programFromYaml(`
id: s
trigger: { event: opt_in }
steps:
  - email: welcome
  - wait: 2 days
  - postcard: hello
  - email: offer
`);

  it('keeps a contact at the same step when it survives', () => {
    const s = advance({ ...base(v1), program: v1, state: null, trigger: { kind: 'start' }, now: START });
    const m = migrateState(v1, v2, s.state);
    expect(m).toMatchObject({ from: 'welcome-wait', to: 'welcome-wait' });
    const r = advance({ ...base(v2), state: m.state, trigger: { kind: 'wake' }, now: s.wakeAt! });
    expect(r.actions.map((a) => ('template' in a ? a.template : a.kind))).toEqual(['hello', 'offer']);
  });

  it('moves a contact whose step was removed to the next surviving step, keeping its due time', () => {
    const s = advance({ ...base(v1), state: null, trigger: { kind: 'start' }, now: START });
    const atGuideWait = advance({ ...base(v1), state: s.state, trigger: { kind: 'wake' }, now: s.wakeAt! });
    expect(atGuideWait.stepId).toBe('guide-wait');
    const m = migrateState(v1, v2, atGuideWait.state);
    expect(m).toMatchObject({ from: 'guide-wait', to: 'offer' });
    expect(m.state.pending).toMatchObject({ kind: 'deferred', reason: 'edited', until: atGuideWait.state.pending!.until });
    const r = advance({ ...base(v2), state: m.state, trigger: { kind: 'wake' }, now: atGuideWait.wakeAt! });
    expect(r.actions.map((a) => ('template' in a ? a.template : a.kind))).toEqual(['offer']);
    expect(r.outcome).toBe('completed');
  });
});
