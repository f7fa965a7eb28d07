import { readFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseDuration } from '../../src/sequences/duration.js';
import { DURATION_PATTERN, fileSchema, renderSequenceJsonSchema } from '../../src/sequences/file-schema.js';
import { LOCAL_DATE_PATTERN, localDateProblem } from '../../src/sequences/local-date.js';
import { STEP_KINDS, sequenceSchema } from '../../src/sequences/schema.js';
import { EXAMPLE_SEQUENCE } from '../support/programs.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** The file schema (what editors check) and sequenceSchema (what the engine loads) on one document. */
function verdicts(yaml: string): { file: boolean; engine: boolean } {
  const doc: unknown = parse(yaml);
  return { file: fileSchema.safeParse(doc).success, engine: sequenceSchema.safeParse(doc).success };
}

const HEAD = 'id: s\ntrigger: { event: opt_in }\n';
const withSteps = (steps: string) => `${HEAD}steps:\n${steps}`;

const GOOD: Record<string, string> = {
  'the advance tests\' example': EXAMPLE_SEQUENCE,
  'the smallest sequence': withSteps('  - email: welcome\n'),
  'every top-level field': `
$schema: ../schema/sequence.schema.json
id: every-field
name: Every field
description: All of them
timezone: America/Chicago
trigger: [ { event: opt_in, where: { source: [website, webinar] } }, { event: webinar_attended } ]
reentry: always
exit: [ { event: unsubscribed }, { promoted: lead }, { event: "crm.deal:won", where: { stage: 3 } } ]
goals: [ { event: appointment_requested } ]
send_window: { days: [mon, tue, wed], from: "08:30", to: "18:00" }
holidays: [ "2026-12-25", "2027-01-01" ]
on_edit: stay
steps:
  - email: welcome
`,
  'every step kind, long and short forms': withSteps(`
  - id: hello
    email: { template: mail/welcome }
    send_window: { from: "9:00", to: "17:00" }
  - postcard: { template: hello-postcard, due: 3 business days }
  - letter: thank-you
    due: 1 week
  - call: "Ask about the guide"
  - call: { note: Intro call, due: 1 day, priority: high }
  - wait: 2 days
  - wait: { for: 1 month }
  - wait: { until: "09:30", on: mon-fri }
  - wait: { until: "23:59" }
  - repeat:
      every: 1 month
      times: 18
      steps:
        - email: monthly-value
        - tag: monthly
  - wait_for: { event: email_clicked, step: hello, timeout: 3 days, where: { link: pricing } }
    on_event: [ { tag: clicked } ]
    on_timeout: [ { email: nudge } ]
  - id: clicker
    wait_for: { event: page_visited, timeout: 2 business days }
  - if: { all: [ { tag: warm }, { not: { tag: customer } }, { any: [ { opened: hello }, { clicked: hello } ] } ] }
    then: [ { call: Follow up } ]
    else: []
  - if: { attribute: plan, equals: pro }
    then: [ { tag: [pro, paying] } ]
  - if: { attribute: plan, in: [pro, team, 3] }
    then: []
  - if: { attribute: company, exists: false }
    then: [ { set: { stage: cold, score_note: null, vip: false } } ]
  - if: { has: phone }
    then: [ { notify: { note: Hot lead, to: sales } } ]
  - if: { score: { gte: 10, lt: 50 } }
    then: [ { untag: cold } ]
  - if: { event: page_visited, where: { page: /pricing }, within: 7 days }
    then: [ { start: other-sequence }, { notify: Visited pricing } ]
`),
  'durations in every spelling': withSteps(`
  - wait: 1d2h
  - wait: P1DT2H
  - wait: PT90M
  - wait: 2 working days
  - wait: "1 month, 2 days"
  - wait: 1 day and 2 hours
  - wait: 3 Days
  - wait: 45 mins
  - wait: 1 yr 2 mos
`),
  'reentry after a while': `${HEAD}reentry: { after: 90 days }\nsteps:\n  - email: welcome\n`,
};

const BAD: Record<string, string> = {
  'a step with two kinds': withSteps('  - email: welcome\n    wait: 2 days\n'),
  'a step with no kind': withSteps('  - id: lonely\n'),
  'an unknown top-level key': `${HEAD}colour: blue\nsteps:\n  - email: welcome\n`,
  'an unknown key in a step': withSteps('  - email: welcome\n    subject: Hi\n'),
  'an unknown key in a short form': withSteps('  - email: { template: welcome, subject: Hi }\n'),
  'no steps': HEAD,
  'an empty list of steps': `${HEAD}steps: []\n`,
  'a kind without a value': withSteps('  - email\n'),
  'no trigger': 'id: s\nsteps:\n  - email: welcome\n',
  'a duration typo': withSteps('  - wait: 3 munths\n'),
  'a duration without unit': withSteps('  - wait: 3\n'),
  'business days mixed with hours': withSteps('  - wait: 2 business days 3 hours\n'),
  'a time that is not HH:MM': withSteps('  - wait: { until: 9am }\n'),
  'an attribute test with two tests': withSteps('  - if: { attribute: plan, equals: pro, in: [team] }\n    then: []\n'),
  'an attribute test with no test': withSteps('  - if: { attribute: plan }\n    then: []\n'),
  'a sequence id with capitals': 'id: New-Opt-In\ntrigger: { event: opt_in }\nsteps:\n  - email: welcome\n',
  'a template name with capitals': withSteps('  - email: Welcome\n'),
  'a repeat of zero times': withSteps('  - repeat: { every: 1 day, times: 0, steps: [ { email: x } ] }\n'),
  'an empty score range': withSteps('  - if: { score: {} }\n    then: []\n'),
  'an empty set': withSteps('  - set: {}\n'),
  'an empty tag list': withSteps('  - tag: []\n'),
  'an unknown reentry': `${HEAD}reentry: sometimes\nsteps:\n  - email: welcome\n`,
  'an unknown on_edit': `${HEAD}on_edit: keep\nsteps:\n  - email: welcome\n`,
  'a wait_for without timeout': withSteps('  - wait_for: { event: email_clicked }\n'),
  'an if without then': withSteps('  - if: { tag: warm }\n'),
  'a holiday that is not a date': `${HEAD}holidays: [ "2026-1-1" ]\nsteps:\n  - email: welcome\n`,
  'a holiday on a day that does not exist': `${HEAD}holidays: [ 2026-12-32 ]\nsteps:\n  - email: welcome\n`,
  'a holiday on February 30': `${HEAD}holidays: [ 2028-02-30 ]\nsteps:\n  - email: welcome\n`,
  'a holiday on February 29 of a year that is not a leap year': `${HEAD}holidays: [ 2026-02-29 ]\nsteps:\n  - email: welcome\n`,
  'a holiday on February 29, 1900': `${HEAD}holidays: [ 1900-02-29 ]\nsteps:\n  - email: welcome\n`,
  'a holiday in month 13': `${HEAD}holidays: [ 2026-13-01 ]\nsteps:\n  - email: welcome\n`,
  'an event type with capitals': 'id: s\ntrigger: { event: OptIn }\nsteps:\n  - email: welcome\n',
  'a step that is a list': withSteps('  - [ email, welcome ]\n'),
  'a call with an unknown priority': withSteps('  - call: { note: x, priority: urgent }\n'),
};

/** What JSON Schema cannot check: the file schema lets these through, `nurture validate` does not. */
const ONLY_THE_ENGINE_CATCHES: Record<string, string> = {
  'a time zone that does not exist': `${HEAD}timezone: Mars/Olympus\nsteps:\n  - email: welcome\n`,
  'a time zone in the wrong case': `${HEAD}timezone: america/chicago\nsteps:\n  - email: welcome\n`,
  'a time zone abbreviation': `${HEAD}timezone: EST\nsteps:\n  - email: welcome\n`,
  'a zero wait': withSteps('  - wait: 0 days\n'),
  'a send window that opens and closes at once': withSteps('  - email: welcome\n    send_window: { from: "09:00", to: "09:00" }\n'),
  'a day that does not exist': withSteps('  - wait: { until: "09:00", on: funday }\n'),
};

describe('schema/sequence.schema.json', () => {
  it('is what `npm run schema` generates now (run it after changing src/sequences/file-schema.ts)', async () => {
    const committed = await readFile(path.join(ROOT, 'schema/sequence.schema.json'), 'utf8');
    expect(committed).toBe(renderSequenceJsonSchema());
  });

  it('is what examples/sequences/*.yaml point at, in their yaml-language-server header', async () => {
    const text = await readFile(path.join(ROOT, 'examples/sequences/new-opt-in.yaml'), 'utf8');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../../schema/sequence.schema.json');
  });

  it('describes every step kind as one closed object that requires that kind key and no other', () => {
    const schema = JSON.parse(renderSequenceJsonSchema()) as {
      definitions: { step: { oneOf: { required: string[]; additionalProperties: boolean; description?: string }[] } };
    };
    const kinds = schema.definitions.step.oneOf.map((branch) => {
      expect(branch.additionalProperties).toBe(false);
      expect(branch.description).toBeTruthy();
      const own = branch.required.filter((k) => (STEP_KINDS as readonly string[]).includes(k));
      expect(own).toHaveLength(1);
      return own[0];
    });
    expect([...kinds].sort()).toEqual([...STEP_KINDS].sort());
  });
});

describe('the file schema agrees with sequenceSchema', () => {
  it('accepts examples/sequences/new-opt-in.yaml', async () => {
    const text = await readFile(path.join(ROOT, 'examples/sequences/new-opt-in.yaml'), 'utf8');
    expect(verdicts(text)).toEqual({ file: true, engine: true });
  });

  it.each(Object.entries(GOOD))('accepts %s', (_name, yaml) => {
    expect(verdicts(yaml)).toEqual({ file: true, engine: true });
  });

  it.each(Object.entries(BAD))('rejects %s', (_name, yaml) => {
    expect(verdicts(yaml)).toEqual({ file: false, engine: false });
  });

  it.each(Object.entries(ONLY_THE_ENGINE_CATCHES))('leaves %s to `nurture validate`', (_name, yaml) => {
    expect(verdicts(yaml)).toEqual({ file: true, engine: false });
  });
});

describe('the date pattern', () => {
  it('matches exactly the dates that exist, as the engine does', () => {
    const text = fc
      .tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }))
      .map(([y, m, d]) => `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`);
    fc.assert(
      fc.property(text, (date) => {
        const [y, m, d] = date.split('-').map(Number) as [number, number, number];
        const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
        const lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        const real = m >= 1 && m <= 12 && d >= 1 && d <= lengths[m - 1]!;
        expect(LOCAL_DATE_PATTERN.test(date), date).toBe(real);
        expect(localDateProblem(date) === null, date).toBe(real);
      }),
      { numRuns: 5000 },
    );
  });

  it.each(['2000-02-29', '2024-02-29', '2400-02-29', '2026-12-31'])('matches %s', (date) => expect(LOCAL_DATE_PATTERN.test(date)).toBe(true));
  it.each(['1900-02-29', '2100-02-29', '2026-02-29', '2026-06-31', '2026-12-32'])('does not match %s', (date) => expect(LOCAL_DATE_PATTERN.test(date)).toBe(false));
});

describe('the duration pattern', () => {
  it('matches every duration parseDuration accepts', () => {
    const token = fc.constantFrom(
      '1', '2', '30', ' ', '  ', ',', 'and', 'p', 'P', 't', 'T',
      'd', 'D', 'day', 'days', 'Days', 'h', 'hr', 'hours', 'm', 'min', 'minutes', 'mo', 'month', 'months',
      'w', 'wk', 'weeks', 'y', 'yrs', 'year', 's', 'sec', 'seconds', 'business', 'working', 'H', 'M', 'S', 'W', 'Y',
    );
    fc.assert(
      fc.property(fc.array(token, { minLength: 1, maxLength: 8 }), (tokens) => {
        const text = tokens.join('');
        if (parseDuration(text).ok) expect(DURATION_PATTERN.test(text), text).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it.each(['3 days', '2 business days', '1 month', 'P3D', '1 day 2 hours', ' 5m ', '1 Week'])('matches %j', (text) => {
    expect(DURATION_PATTERN.test(text)).toBe(true);
  });

  it.each(['3 munths', '3', 'days', 'P', '-2 days', '2 business days 3 hours', 'soon'])('does not match %j', (text) => {
    expect(DURATION_PATTERN.test(text)).toBe(false);
  });
});
