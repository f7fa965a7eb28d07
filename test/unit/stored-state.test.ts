import { describe, expect, it } from 'vitest';
import { ENROLLMENT_STATE, SEQUENCE_DEFINITION, parseEnrollmentState, parseSequenceDefinition, storedDefinition } from '../../src/sequences/stored-state.js';
import { compileSequence } from '../../src/sequences/compile.js';
import { EXAMPLE_SEQUENCE, programFromYaml } from '../support/programs.js';

/** Every step kind, nested, with durations, windows, conditions and matchers: what a stored definition can hold. */
const EVERY_KIND = `
id: every-kind
name: Every kind
timezone: America/Chicago
trigger: [ { event: opt_in, where: { source: [website, fair] } } ]
reentry: { after: 30 days }
exit: [ { event: unsubscribed }, { promoted: lead } ]
goals: [ { event: appointment_requested } ]
send_window: { days: mon-fri, from: "09:00", to: "17:00" }
holidays: [ "2026-12-25" ]
on_edit: stay
steps:
  - email: welcome
  - id: first-wait
    wait: 2 business days
  - wait: { until: "10:00", on: [tue, thu] }
  - postcard: { template: postcard, due: 3 days }
  - letter: postcard
  - call: { note: Say hello, due: 4 hours, priority: high }
  - repeat:
      every: 1 month
      times: 3
      steps:
        - email: monthly
  - id: watch
    wait_for: { event: email_clicked, step: welcome, timeout: 5 days }
    on_event: [ { tag: clicked } ]
    on_timeout: [ { untag: [clicked, warm] } ]
  - if: { all: [ { tag: vip }, { not: { has: phone } }, { score: { gte: 10 } }, { attribute: plan, in: [pro, team] }, { event: page_visited, where: { page: pricing }, within: 7 days }, { opened: welcome } ] }
    then: [ { set: { tier: gold, calls: 2, vip: true, old: null } } ]
    else: [ { notify: { note: Check this one, to: sales } } ]
  - start: every-kind
`;

const stored = (yaml: string) => JSON.parse(JSON.stringify(storedDefinition(programFromYaml(yaml).definition))) as unknown;

describe('stored enrollment state', () => {
  const v1 = { pc: 3, at: 'wait:w', loops: { r: 2 }, anchors: { r: '2026-11-01T00:00:00.000Z' }, clock: '2026-11-02T09:00:00.000Z', pending: { kind: 'wait', until: '2026-11-04T09:00:00.000Z' } };

  it('reads a v1 state (with v: 1, or with no v at all) through the upgrade to the current version', () => {
    expect(ENROLLMENT_STATE.current).toBe(2);
    for (const raw of [{ v: 1, ...v1 }, v1]) {
      const r = parseEnrollmentState(raw);
      expect(r).toEqual({ ok: true, from: 1, value: { ...v1, v: 2 } });
    }
    expect(parseEnrollmentState({ ...v1, v: 2 })).toEqual({ ok: true, from: 2, value: { ...v1, v: 2 } });
  });

  it('names the field that does not fit, and a version this build does not know', () => {
    expect(parseEnrollmentState({ ...v1, v: 2, pending: { kind: 'deferred', until: 'x', reason: 'lunch' } })).toMatchObject({ ok: false, path: 'pending.reason' });
    expect(parseEnrollmentState({ ...v1, v: 2, pc: -1 })).toMatchObject({ ok: false, path: 'pc' });
    expect(parseEnrollmentState({ ...v1, v: 2, extra: 1 })).toMatchObject({ ok: false, path: '(root)' });
    const future = parseEnrollmentState({ ...v1, v: 9 });
    expect(future).toMatchObject({ ok: false, path: 'v', version: 9 });
    expect(future.ok ? '' : future.message).toMatch(/unknown version 9 \(this build reads 1 to 2/);
    expect(parseEnrollmentState('nonsense')).toMatchObject({ ok: false });
  });
});

describe('stored sequence definitions', () => {
  it.each([
    ['the example', EXAMPLE_SEQUENCE],
    ['every step kind', EVERY_KIND],
  ])('reads back %s exactly as it was stored, and it compiles to the same program', (_name, yaml) => {
    const program = programFromYaml(yaml);
    const raw = stored(yaml);
    expect((raw as { v: number }).v).toBe(SEQUENCE_DEFINITION.current);
    const r = parseSequenceDefinition(raw);
    if (!r.ok) throw new Error(`${r.path}: ${r.message}`);
    expect(r.value).toEqual(JSON.parse(JSON.stringify(program.definition)));
    const again = compileSequence(r.value);
    expect(again.ok && again.program.instructions).toEqual(JSON.parse(JSON.stringify(program.instructions)));
  });

  it('reads a definition stored before versions were (no v) as v1', () => {
    const { v: _v, ...bare } = stored(EVERY_KIND) as Record<string, unknown>;
    const r = parseSequenceDefinition(bare);
    expect(r.ok && r.from).toBe(1);
  });

  it('names the field of a step whose shape it does not know', () => {
    const raw = stored(EVERY_KIND) as { steps: Record<string, unknown>[] };
    raw.steps[1] = { kind: 'wait', id: 'first-wait', wait: { kind: 'for', duration: '2 days' } };
    expect(parseSequenceDefinition(raw)).toMatchObject({ ok: false, path: 'steps.1.wait' });
  });
});
