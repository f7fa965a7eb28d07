import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import type { Action, AdvanceSettings, EnrollmentState, Trigger } from '../../src/sequences/advance.js';
import { advance } from '../../src/sequences/advance.js';
import type { Program } from '../../src/sequences/program.js';
import { SIMULATED_ENROLLMENT, simulate } from '../../src/sequences/simulate.js';
import { isInWindow, nextOpening, resolveWait } from '../../src/sequences/time-rules.js';
import { WEEKDAYS } from '../../src/sequences/time-types.js';
import type { SendWindow, TimeContext } from '../../src/sequences/time-types.js';
import { contact, programFromYaml } from '../support/programs.js';
import { dstChangeDays, instantNear, timeOfDayArb } from '../support/time-arbitraries.js';

/**
 * Properties of the whole engine core (compiled sequence + advance + simulate), for random
 * sequences of emails and waits under a random send window, in zones that do and do not change
 * their clocks. time-rules.test.ts covers the time functions one by one; this file checks that
 * advance puts them together right.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ZONES = ['America/Chicago', 'America/New_York', 'Europe/London', 'Europe/Berlin', 'Australia/Sydney', 'Asia/Kolkata', 'Pacific/Auckland', 'UTC'];
const CHANGE_DAYS = dstChangeDays(ZONES);

const hhmm = timeOfDayArb(['00:00', '01:30', '02:00', '02:30', '03:00', '08:00', '09:00', '12:00', '17:00', '20:00', '23:59']);

/** A zone and an instant in 2026–2028, half the time within a day and a half of a DST change. */
const startArb = fc.constantFrom(...ZONES).chain((zone) => {
  const { uniform, nearChange } = instantNear(CHANGE_DAYS[zone]!);
  return fc.record({ zone: fc.constant(zone), startMs: fc.oneof(uniform, nearChange) });
});

type StepSpec = { kind: 'email' } | { kind: 'wait'; yaml: string };

const waitArb: fc.Arbitrary<StepSpec> = fc
  .oneof(
    fc.integer({ min: 1, max: 48 }).map((n) => `"${n} hours"`),
    fc.integer({ min: 1, max: 20 }).map((n) => `"${n} days"`),
    fc.integer({ min: 1, max: 10 }).map((n) => `"${n} business days"`),
    fc.integer({ min: 1, max: 6 }).map((n) => `"${n} months"`),
    fc
      .tuple(hhmm, fc.oneof(fc.constant('weekdays'), fc.subarray([...WEEKDAYS], { minLength: 1 }).map((d) => `[${d.join(', ')}]`)))
      .map(([at, on]) => `{ until: "${at}", on: ${on} }`),
  )
  .map((yaml) => ({ kind: 'wait', yaml }));

const stepsArb = fc
  .array(fc.oneof(fc.constant<StepSpec>({ kind: 'email' }), waitArb), { minLength: 1, maxLength: 6 })
  .filter((steps) => steps.some((s) => s.kind === 'email'));

const windowArb: fc.Arbitrary<SendWindow> = fc
  .record({ days: fc.subarray([...WEEKDAYS], { minLength: 1 }), from: hhmm, to: hhmm })
  .filter((w) => w.from !== w.to);

const scenarioArb = fc.record({ start: startArb, steps: stepsArb, window: windowArb });
type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

function build(s: Scenario): { program: Program; start: DateTime; ctx: TimeContext } {
  const yaml = [
    'id: prop',
    'trigger: { event: opt_in }',
    `send_window: { days: [${s.window.days.join(', ')}], from: "${s.window.from}", to: "${s.window.to}" }`,
    'steps:',
    ...s.steps.map((step, i) => (step.kind === 'email' ? `  - { id: s${i}, email: t${i} }` : `  - { id: s${i}, wait: ${step.yaml} }`)),
  ].join('\n');
  return {
    program: programFromYaml(yaml),
    start: DateTime.fromMillis(s.start.startMs, { zone: s.start.zone }),
    ctx: { zone: s.start.zone, holidays: new Set() },
  };
}

function settingsOf(perDay: boolean): AdvanceSettings {
  return { defaultZone: 'UTC', caps: perDay ? { perDay: 1 } : undefined };
}

type Touch = { key: string; dueMs: number };

function touchesOf(actions: readonly Action[]): Touch[] {
  return actions.flatMap((a) => ('key' in a && 'dueAt' in a ? [{ key: a.key, dueMs: DateTime.fromISO(a.dueAt).toMillis() }] : []));
}

function emailsOf(program: Program, start: DateTime, zone: string, settings: AdvanceSettings): { stepId: string; at: DateTime }[] {
  const sim = simulate(program, contact({ timezone: zone }), start, [], settings);
  expect(sim.outcome).toBe('completed');
  return sim.timeline.flatMap((e) => (e.action?.kind === 'email' ? [{ stepId: e.action.stepId, at: DateTime.fromISO(e.action.dueAt, { setZone: true }) }] : []));
}

const RUNS = { numRuns: 150 };

describe('advance properties: random sequences of emails and waits under a send window', () => {
  it('(a) every email is due inside the send window, in the contact zone', () => {
    fc.assert(
      fc.property(scenarioArb, fc.boolean(), (s, capped) => {
        const { program, start, ctx } = build(s);
        for (const e of emailsOf(program, start, ctx.zone, settingsOf(capped))) {
          expect(isInWindow(e.at, s.window, ctx), `${e.stepId} at ${e.at.setZone(ctx.zone).toISO()}`).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('(b) every email comes no earlier than the previous touch plus the waits between them, and without caps at the first opening after that', () => {
    fc.assert(
      fc.property(scenarioArb, fc.boolean(), (s, capped) => {
        const { program, start, ctx } = build(s);
        const emails = emailsOf(program, start, ctx.zone, settingsOf(capped));
        let earliest = start;
        let next = 0;
        for (const ins of program.instructions) {
          if (ins.op === 'wait') earliest = resolveWait(earliest, ins.wait, ctx);
          if (ins.op !== 'email') continue;
          const e = emails[next++]!;
          expect(e.stepId).toBe(ins.stepId);
          expect(e.at.toMillis()).toBeGreaterThanOrEqual(earliest.toMillis());
          if (!capped) expect(e.at.toMillis()).toBe(nextOpening(earliest, s.window, ctx).toMillis());
          earliest = e.at;
        }
        expect(next).toBe(emails.length);
      }),
      RUNS,
    );
  });

  it('(c) a worker that saves and reloads the state at every step, woken exactly on time, makes the same touches as simulate', () => {
    fc.assert(
      fc.property(scenarioArb, fc.boolean(), (s, capped) => {
        const { program, start, ctx } = build(s);
        const settings = settingsOf(capped);
        const who = contact({ timezone: ctx.zone });
        const sim = simulate(program, who, start, [], settings);
        const expected = touchesOf(sim.timeline.flatMap((e) => (e.action ? [e.action] : [])));

        const got: Touch[] = [];
        const recent: string[] = [];
        let state: EnrollmentState | null = null;
        let trigger: Trigger = { kind: 'start' };
        let now = start;
        for (let round = 0; round < 1_000; round++) {
          const r = advance({ program, state, enrollmentId: SIMULATED_ENROLLMENT, contact: who, history: [], recentEmails: recent, trigger, now, settings });
          got.push(...touchesOf(r.actions));
          for (const a of r.actions) if (a.kind === 'email') recent.push(a.dueAt);
          state = JSON.parse(JSON.stringify(r.state)) as EnrollmentState;
          if (r.outcome !== 'active' || !r.wakeAt) {
            expect(r.outcome).toBe('completed');
            break;
          }
          // As the database gives it back: an instant, with no zone of its own.
          now = DateTime.fromMillis(r.wakeAt.toMillis(), { zone: 'UTC' });
          trigger = { kind: 'wake' };
        }
        expect(got).toEqual(expected);
      }),
      RUNS,
    );
  });

  it('(d) with a cap of one email a day, no two emails are within 24 hours', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const { program, start, ctx } = build(s);
        const times = emailsOf(program, start, ctx.zone, settingsOf(true)).map((e) => e.at.toMillis());
        for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(DAY);
      }),
      RUNS,
    );
  });

  it('the scenarios include DST change days and crossing-midnight windows', () => {
    expect(CHANGE_DAYS['Europe/Berlin']).toHaveLength(6);
    expect(CHANGE_DAYS['Australia/Sydney']).toHaveLength(6);
    expect(CHANGE_DAYS['Asia/Kolkata']).toHaveLength(0);
    const samples = fc.sample(windowArb, { numRuns: 200, seed: 1 });
    expect(samples.some((w) => w.from > w.to)).toBe(true);
  });
});
