import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateForms } from '../../src/app/validate-forms.js';
import { formatProblem } from '../../src/errors.js';
import { writeTemplates } from '../support/engine.js';

const form = (template: string) => `forms:
  news:
    source: website
    consent: ok
    origins: ["*"]
    double_opt_in:
      template: ${template}
`;

describe('validating the forms file with its confirmation templates', () => {
  let dir: string;
  let templates: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'nurture-forms-'));
    templates = await writeTemplates({
      confirm: '---\nsubject: Confirm\n---\n<p><a href="{{confirmUrl}}">Confirm</a>, {{default firstName "friend"}}</p>\n',
      'no-link': '---\nsubject: Confirm\n---\n<p>Thanks!</p>\n',
      typo: '---\nsubject: Confirm\n---\n<p><a href="{{confirmUrl}}">x</a> {{frstName}}</p>\n',
    });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await rm(templates, { recursive: true, force: true });
  });

  const check = async (text: string | undefined) => {
    const file = path.join(dir, `forms-${Math.random().toString(36).slice(2)}.yaml`);
    if (text !== undefined) await writeFile(file, text);
    const r = await validateForms(file, templates);
    return { ...r, lines: r.problems.map((p) => formatProblem(p).replace(file, 'forms.yaml').replace(templates, 'templates')) };
  };

  it('takes a form whose template shows {{confirmUrl}}, and a missing file as no forms', async () => {
    const ok = await check(form('confirm'));
    expect(ok.lines).toEqual([]);
    expect([...ok.forms!.forms.keys()]).toEqual(['news']);
    const none = await check(undefined);
    expect(none.forms!.forms.size).toBe(0);
  });

  it('reports a missing template, one without the link, and unknown variables in it', async () => {
    expect((await check(form('nope'))).lines).toEqual([expect.stringMatching(/template "nope" not found.*\(the confirmation email of form news, .*:7\)$/)]);
    const noLink = await check(form('no-link'));
    expect(noLink.forms).toBeUndefined();
    expect(noLink.lines).toEqual(['forms.yaml:7: forms.news.double_opt_in.template: template "no-link" never shows {{confirmUrl}}: the person could not confirm']);
    expect((await check(form('typo'))).lines).toEqual([expect.stringContaining('unknown variable {{frstName}}')]);
  });
});
