import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderScoringJsonSchema } from '../../src/scoring/file-schema.js';
import { loadScoringFile, validateScoring } from '../../src/scoring/load.js';
import { formatProblem } from '../../src/errors.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const messages = (text: string) => {
  const r = validateScoring(text, 'scoring.yaml');
  return r.status === 'invalid' ? r.problems.map(formatProblem) : [];
};

describe('scoring.yaml', () => {
  it('loads the example', async () => {
    const r = await loadScoringFile(path.join(ROOT, 'examples/scoring.yaml'));
    expect(r.status).toBe('ok');
    if (r.status !== 'ok') return;
    expect(r.rules.fit[0]).toMatchObject({ field: 'attributes.company_size', test: { op: 'gte', value: 50 }, points: 15 });
    expect(r.rules.engagement.find((e) => e.event === 'page_visited')).toMatchObject({ where: { path: { op: 'starts_with', value: '/pricing' } }, points: 10 });
    expect(r.rules.engagement[0]!.halfLifeMs).toBe(30 * 86_400_000);
    expect(r.rules.stages.mql).toEqual({ enter: { fit: 20, engagement: 40, score: undefined }, fallBackBelow: { fit: undefined, engagement: 25, score: undefined } });
  });

  it('is absent when there is no file: scoring is off', async () => {
    expect(await loadScoringFile(path.join(ROOT, 'no-such-scoring.yaml'))).toEqual({ status: 'absent' });
  });

  it('names file, line and field of each problem', () => {
    const text = [
      'half_life: 3 munths', // 1
      'fit:',
      '  - field: attributes.size',
      '    gte: 5',
      '    lt: 9', // 5
      '    points: 5',
      '  - field: company',
      '    equals: x',
      '    points: 1',
      'engagement:', // 10
      '  - event: email_clicked',
      '    points: -5',
      '    pre_day: 3',
    ].join('\n');
    expect(messages(text)).toEqual([
      'scoring.yaml:1: half_life: "3 munths" is not a duration (try "3 days", "2 business days", "1 month" or ISO 8601 like "P3D")',
      'scoring.yaml:3: fit[0]: has 2 tests (gte, lt): write one per rule',
      'scoring.yaml:7: fit[1].field: is not a contact field (email, firstName, lastName, phone, timezone, tags, attributes.NAME, address.NAME)',
      'scoring.yaml:12: engagement[0].points: must be more than 0 (engagement rules add points)',
      'scoring.yaml:13: engagement[0].pre_day: unknown field "pre_day": did you mean "per_day"?',
    ]);
  });

  it('refuses a fall-back that is not below its threshold, and groups nobody declared', () => {
    const text = ['engagement:', '  - event: email_clicked', '    points: 5', '    group: mail', 'stages:', '  mql:', '    engagement: 40', '    fall_back_below: { engagement: 40 }'].join('\n');
    expect(messages(text)).toEqual([
      'scoring.yaml:4: engagement[0].group: group "mail" is not declared under groups:',
      'scoring.yaml:8: stages.mql.fall_back_below.engagement: 40 must be below the engagement threshold 40, or contacts would flap',
    ]);
  });

  it('takes an empty file as no rules', () => {
    expect(validateScoring('', 'scoring.yaml')).toMatchObject({ status: 'ok', rules: { fit: [], engagement: [] } });
  });

  it('has an up-to-date JSON Schema for editors (npm run schema)', async () => {
    expect(await readFile(path.join(ROOT, 'schema/scoring.schema.json'), 'utf8')).toBe(renderScoringJsonSchema());
  });
});
