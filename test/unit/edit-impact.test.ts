import { describe, expect, it } from 'vitest';
import { describeGroup, formatEditImpact, planEditImpact, restingPc } from '../../src/engine/edit-impact.js';
import type { StepGroup } from '../../src/engine/edit-impact.js';
import type { Program } from '../../src/sequences/program.js';
import { programFromYaml } from '../support/programs.js';

const WINDOW = 'send_window: { days: weekdays, from: "09:00", to: "17:00" }';

const V1 = programFromYaml(`
id: onboarding
trigger: { event: opt_in }
steps:
  - email: welcome
    ${WINDOW}
  - wait: 2 days
  - email: guide
    ${WINDOW}
  - wait: 3 days
  - postcard: postcard
  - wait: 1 week
  - repeat:
      every: 1 month
      times: 6
      steps:
        - email: monthly
`);

/** guide removed, guide-wait renamed to guide-pause, the rest as it was. */
const V2_YAML = `
id: onboarding
trigger: { event: opt_in }
steps:
  - email: welcome
    ${WINDOW}
  - wait: 2 days
  - id: guide-pause
    wait: 3 days
  - postcard: postcard
  - wait: 1 week
  - repeat:
      every: 1 month
      times: 12
      steps:
        - email: monthly
`;
const V2 = programFromYaml(V2_YAML);
const V2_STAY = programFromYaml(`${V2_YAML}on_edit: stay\n`);

/** Everything after the first wait is gone. */
const V3 = programFromYaml(`
id: onboarding
trigger: { event: opt_in }
steps:
  - email: welcome
    ${WINDOW}
  - wait: 2 days
`);

const programs = (...ps: Program[]) => new Map(ps.map((p) => [p.version, p]));
const at = (stepId: string, count: number, version = V1.version): StepGroup => ({ version, stepId, count });

describe('restingPc', () => {
  it('puts contacts of a step where they can rest: a repeat on its wait, a touch on its email', () => {
    expect(V1.instructions[restingPc(V1, 'repeat')]?.op).toBe('loop_wait');
    expect(V1.instructions[restingPc(V1, 'guide')]).toMatchObject({ op: 'email', stepId: 'guide' });
    expect(V1.instructions[restingPc(V1, 'guide-wait')]).toMatchObject({ op: 'wait', stepId: 'guide-wait' });
    expect(V1.instructions[restingPc(V1, 'postcard')]).toMatchObject({ op: 'mail_task' });
    expect(restingPc(V1, 'nowhere')).toBe(-1);
  });
});

describe('planEditImpact', () => {
  it('says who stays and who moves past a removed or renamed step, in step order', () => {
    const plan = planEditImpact(V2, [at('repeat', 7), at('guide', 312), at('welcome-wait', 40), at('guide-wait', 12), at('welcome', 1)], programs(V1));
    expect(plan.lines).toEqual([
      '1 contact at step welcome stays at step welcome',
      '40 contacts at step welcome-wait stay at step welcome-wait',
      '312 contacts at step guide will move to step postcard',
      '12 contacts at step guide-wait will move to step postcard',
      '7 contacts at step repeat stay at step repeat',
    ]);
    expect(plan.groups.find((g) => g.stepId === 'guide')?.fate).toEqual({ kind: 'move', to: 'postcard' });
  });

  it('says who finishes when no later step survives', () => {
    const plan = planEditImpact(V3, [at('guide-wait', 12), at('welcome-wait', 40), at('repeat', 3)], programs(V1));
    expect(plan.lines).toEqual([
      '40 contacts at step welcome-wait stay at step welcome-wait',
      '12 contacts at step guide-wait will finish the sequence (no later step survives)',
      '3 contacts at step repeat will finish the sequence (no later step survives)',
    ]);
  });

  it('keeps everybody on their version when the new file says on_edit: stay', () => {
    const plan = planEditImpact(V2_STAY, [at('guide', 300), at('welcome', 12)], programs(V1));
    expect(plan.lines).toEqual([`312 contacts stay on version ${V1.version} until they finish`]);
    expect(plan.groups.every((g) => g.fate.kind === 'pinned')).toBe(true);
  });

  it('merges the same outcome across older versions and leaves out contacts already on the new one', () => {
    const older = programFromYaml(`
id: onboarding
trigger: { event: opt_in }
steps:
  - email: welcome
  - wait: 2 days
  - email: guide
  - wait: 3 days
  - postcard: postcard
`);
    const plan = planEditImpact(V2, [at('guide', 300), at('guide', 12, older.version), at('postcard', 5, V2.version)], programs(V1, older));
    expect(plan.lines).toEqual(['312 contacts at step guide will move to step postcard']);
    expect(plan.groups.map((g) => g.version).sort()).toEqual([V1.version, older.version].sort());
  });

  it('says so when a version or a step cannot be read back', () => {
    const unstored = planEditImpact(V2, [at('guide', 3, 'feedfeedfeed')], programs(V1), new Map([['feedfeedfeed', 'that version is not stored']]));
    expect(unstored.lines).toEqual(['3 contacts at step guide of version feedfeedfeed: cannot tell where they go (that version is not stored)']);
    const noStep = planEditImpact(V2, [at('gone', 2)], programs(V1));
    expect(noStep.lines).toEqual([`2 contacts at step gone of version ${V1.version}: cannot tell where they go (that version has no such step)`]);
  });

  it('has nothing to say about an edit nobody is in', () => {
    expect(planEditImpact(V2, [], programs(V1)).lines).toEqual([]);
  });
});

describe('formatEditImpact', () => {
  it('prints a heading per sequence and its lines, indented', () => {
    const base = { sequenceId: 'onboarding', file: 'sequences/onboarding.yaml', from: V1.version, to: V2.version, onEdit: 'migrate' as const, groups: [] };
    expect(
      formatEditImpact([
        { ...base, contacts: 312, lines: ['312 contacts at step guide will move to step postcard'] },
        { ...base, sequenceId: 'quiet', contacts: 0, lines: [] },
      ]),
    ).toEqual([
      `sequence onboarding (sequences/onboarding.yaml): live version ${V1.version} -> ${V2.version}, on_edit: migrate`,
      '  312 contacts at step guide will move to step postcard',
      `sequence quiet (sequences/onboarding.yaml): live version ${V1.version} -> ${V2.version}, on_edit: migrate`,
      '  no contacts in flight',
    ]);
  });

  it('describes one group in one sentence', () => {
    expect(describeGroup({ version: 'abc123', stepId: 'guide', count: 1, fate: { kind: 'finish' } })).toBe(
      '1 contact at step guide will finish the sequence (no later step survives)',
    );
  });
});
