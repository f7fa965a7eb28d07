import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateProject } from '../../src/app/validate-project.js';
import { formatProblem } from '../../src/errors.js';

let root: string;
let sequences: string;
let templates: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'nurture-validate-'));
  sequences = path.join(root, 'sequences');
  templates = path.join(root, 'templates');
  await mkdir(path.join(templates, 'mail'), { recursive: true });
  await mkdir(sequences);
  await writeFile(path.join(templates, 'welcome.hbs'), '---\nsubject: Hello\n---\n<p>Hi</p>\n');
  await writeFile(path.join(templates, 'mail', 'guide.hbs'), '---\nsubject: Guide\n---\n<p>Guide</p>\n');
  await writeFile(path.join(sequences, 'follow-up.yaml'), 'id: follow-up\ntrigger: { event: replied }\nsteps:\n  - email: welcome\n');
  await writeFile(
    path.join(sequences, 'new-opt-in.yaml'),
    [
      'id: new-opt-in',
      'trigger: { event: opt_in }',
      'steps:',
      '  - email: welcom',
      '  - wait: 1 day',
      '  - if: { tag: warm }',
      '    then:',
      '      - start: folow-up',
      '      - email: mail/gide',
      '  - postcard: welcom',
      '  - start: nowhere-at-all',
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('validateProject', () => {
  it('reports a missing template or start target at the line of the step that names it, with a guess', async () => {
    const check = await validateProject(sequences, templates);
    const file = path.join(sequences, 'new-opt-in.yaml');
    expect(check.problems.map(formatProblem)).toEqual([
      `${file}:8: steps[2].then[0].start: starts sequence "folow-up", which no file defines: did you mean "follow-up"?`,
      `${file}:11: steps[4].start: starts sequence "nowhere-at-all", which no file defines`,
      `${file}:4: steps[0].email: template "welcom" not found (no ${path.join(templates, 'welcom.hbs')}): did you mean "welcome"?`,
      `${file}:10: steps[3].postcard: template "welcom" not found (no ${path.join(templates, 'welcom.hbs')}): did you mean "welcome"?`,
      `${file}:9: steps[2].then[1].email: template "mail/gide" not found (no ${path.join(templates, 'mail', 'gide.hbs')}): did you mean "mail/guide"?`,
    ]);
  });
});
