import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../../src/errors.js';
import { loadSequenceFile, loadSequences } from '../../src/sequences/load.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures');

describe('loading sequence files', () => {
  it('names file, line and field for every problem in a YAML file', async () => {
    const file = path.join(FIXTURES, 'bad-sequences/new-opt-in.yaml');
    const r = await loadSequenceFile(file, 'sequences/new-opt-in.yaml');
    expect(r.program).toBeUndefined();
    expect(r.problems.map(formatProblem)).toEqual([
      'sequences/new-opt-in.yaml:6: steps[2].wait: "3 munths" is not a duration (try "3 days", "2 business days", "1 month" or ISO 8601 like "P3D")',
      'sequences/new-opt-in.yaml:8: steps[3].sned_window: unknown field "sned_window": did you mean "send_window"?',
      'sequences/new-opt-in.yaml:9: steps[4]: a step needs exactly one of email, postcard, letter, call, wait, repeat, wait_for, if, tag, untag, set, start, notify; found call and email',
    ]);
  });

  it('checks references between steps once the shape is right', async () => {
    const { validateSequence } = await import('../../src/sequences/load.js');
    const r = validateSequence(
      { id: 's', trigger: { event: 'opt_in' }, steps: [{ email: 'welcome' }, { if: { clicked: 'nowhere' }, then: [{ email: 'thanks' }] }] },
      's.yaml',
    );
    expect(r.problems.map(formatProblem)).toEqual([
      's.yaml: steps[1].if: "nowhere" is not the id of an email step in this sequence (email steps: welcome, thanks)',
    ]);
  });

  it('reports YAML syntax errors with their line', async () => {
    const { writeFile, mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(path.join(tmpdir(), 'nurture-load-'));
    try {
      await writeFile(path.join(dir, 'broken.yaml'), 'id: x\nsteps:\n  - email: [unclosed\n');
      const r = await loadSequenceFile(path.join(dir, 'broken.yaml'), 'broken.yaml');
      expect(r.problems).toHaveLength(1);
      expect(r.problems[0]).toMatchObject({ file: 'broken.yaml', severity: 'error' });
      expect(r.problems[0]!.line).toBeGreaterThanOrEqual(3);
      expect(r.problems[0]!.message).toMatch(/^not valid YAML/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('loads TypeScript sequences written with defineSequence', async () => {
    const r = await loadSequences(path.join(FIXTURES, 'ts-sequences'));
    expect(r.problems).toEqual([]);
    expect(r.sequences.map((s) => [s.program.sequenceId, [...s.program.steps.keys()]])).toEqual([
      ['webinar-follow-up', ['welcome', 'welcome-wait', 'call']],
    ]);
  });

  it('says when the directory is missing or empty', async () => {
    const r = await loadSequences(path.join(FIXTURES, 'no-such-dir'));
    expect(r.problems[0]!.message).toContain('directory does not exist');
  });
});
