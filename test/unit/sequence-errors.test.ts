import { describe, expect, it } from 'vitest';
import { formatProblem } from '../../src/errors.js';
import { validateSequence } from '../../src/sequences/load.js';
import { parseYamlDocument } from '../../src/sequences/yaml-document.js';

/** The messages `nurture validate` prints for one YAML sequence file named s.yaml. */
function problems(yaml: string): string[] {
  const doc = parseYamlDocument(yaml, 's.yaml');
  if (!doc.ok) throw new Error(doc.problems.map(formatProblem).join('\n'));
  return validateSequence(doc.value, 's.yaml', doc.lineOf).problems.map(formatProblem);
}

const HEAD = 'id: s\ntrigger: { event: opt_in }\n';
const STEPS = 'steps:\n  - email: welcome\n';

describe('impossible dates', () => {
  it.each([
    ['2026-12-32', '"2026-12-32" is not a date: December has 31 days'],
    ['2026-02-30', '"2026-02-30" is not a date: February 2026 has 28 days'],
    ['2026-02-29', '"2026-02-29" is not a date: February 2026 has 28 days'],
    ['2026-04-31', '"2026-04-31" is not a date: April has 30 days'],
    ['2026-13-01', '"2026-13-01" is not a date: there is no month 13'],
    ['2026-00-10', '"2026-00-10" is not a date: there is no month 0'],
    ['2026-05-00', '"2026-05-00" is not a date: there is no day 0'],
  ])('rejects holidays: [%s] with its line and the value', (date, message) => {
    expect(problems(`${HEAD}holidays:\n  - 2026-12-25\n  - ${date}\n${STEPS}`)).toEqual([`s.yaml:5: holidays[1]: ${message}`]);
  });

  it('accepts real dates, leap days included', () => {
    expect(problems(`${HEAD}holidays: [2028-02-29, 2000-02-29, 2026-12-31, 2026-04-30]\n${STEPS}`)).toEqual([]);
  });

  it('names the value of a date written the wrong way', () => {
    expect(problems(`${HEAD}holidays: [25/12/2026]\n${STEPS}`)).toEqual(['s.yaml:3: holidays[0]: "25/12/2026" is not a date: write "yyyy-mm-dd", e.g. "2026-12-25"']);
  });
});

describe('time zones', () => {
  it.each([
    ['Europe/Pari', '"Europe/Pari" is not an IANA time zone: did you mean "Europe/Paris"?'],
    ['America/Chicgo', '"America/Chicgo" is not an IANA time zone: did you mean "America/Chicago"?'],
    ['Chicago', '"Chicago" is not an IANA time zone: did you mean "America/Chicago"?'],
    ['New York', '"New York" is not an IANA time zone: did you mean "America/New_York"?'],
    ['america/chicago', '"america/chicago" is not an IANA time zone: names are case-sensitive; did you mean "America/Chicago"?'],
    ['EUROPE/LONDON', '"EUROPE/LONDON" is not an IANA time zone: names are case-sensitive; did you mean "Europe/London"?'],
    ['asia/kolkata', '"asia/kolkata" is not an IANA time zone: names are case-sensitive; did you mean "Asia/Kolkata"?'],
    ['EST5EDT', '"EST5EDT" is not an IANA location: it is an abbreviation or a POSIX rule; did you mean "America/New_York"?'],
    ['PST', '"PST" is not an IANA location: it is an abbreviation or a POSIX rule; did you mean "America/Los_Angeles"?'],
    ['EST', '"EST" is not an IANA location: it is an abbreviation or a POSIX rule; did you mean "America/New_York"?'],
    ['CET', '"CET" is not an IANA location: it is an abbreviation or a POSIX rule; did you mean "Europe/Paris" or "Europe/Berlin"?'],
    ['Mars/Olympus_Mons', '"Mars/Olympus_Mons" is not an IANA time zone (e.g. "America/Chicago", "Europe/London")'],
  ])('names %j and suggests the zone meant', (zone, message) => {
    expect(problems(`${HEAD}timezone: ${zone}\n${STEPS}`)).toEqual([`s.yaml:3: timezone: ${message}`]);
  });

  it.each(['America/Chicago', 'Europe/Paris', 'UTC', 'Asia/Kolkata', 'America/Argentina/Buenos_Aires', 'Etc/GMT+5', 'US/Eastern'])('accepts %s', (zone) => {
    expect(problems(`${HEAD}timezone: ${zone}\n${STEPS}`)).toEqual([]);
  });
});

describe('values named in messages', () => {
  it('names a bad event type in trigger, wait_for, exit and goals, and suggests a fix', () => {
    const yaml = [
      'id: s',
      'trigger: { event: Webinar Attended }',
      'exit: [ { event: unsubscibed } ]',
      'goals: [ { event: "Booked!" } ]',
      'steps:',
      '  - email: welcome',
      '  - wait_for: { event: Email_Clicked, timeout: 3 days }',
      '',
    ].join('\n');
    expect(problems(yaml)).toEqual([
      's.yaml:2: trigger.event: "Webinar Attended" is not an event type (lower-case letters, digits, "_", ".", ":", "-"): did you mean "webinar_attended"?',
      's.yaml:4: goals[0].event: "Booked!" is not an event type (lower-case letters, digits, "_", ".", ":", "-")',
      's.yaml:7: steps[1].wait_for.event: "Email_Clicked" is not an event type (lower-case letters, digits, "_", ".", ":", "-"): did you mean "email_clicked"?',
    ]);
  });

  it('names a bad template name, step id and time of day', () => {
    const yaml = `${HEAD}steps:\n  - email: Welcome\n  - id: Step One\n    wait: { until: 9am }\n`;
    expect(problems(yaml)).toEqual([
      's.yaml:4: steps[0].email: "Welcome" is not a template name (lower-case letters, digits, "-", "_", "/"): did you mean "welcome"?',
      's.yaml:5: steps[1].id: "Step One" is not a step id (lower-case letters, digits, "-" or "_"): did you mean "step-one"?',
      's.yaml:6: steps[1].wait.until: "9am" is not a time of day: write "HH:MM", e.g. "09:30"',
    ]);
  });
});

describe('unknown fields', () => {
  it('suggests the field meant at the top level', () => {
    expect(problems(`id: s\ntirgger: { event: opt_in }\n${STEPS}`)).toEqual([
      's.yaml:1: trigger: is required',
      's.yaml:2: tirgger: unknown field "tirgger": did you mean "trigger"?',
    ]);
  });

  it('suggests the field meant in steps, short forms, send windows, matchers and conditions', () => {
    const yaml = [
      HEAD.trimEnd(),
      'send_window: { from: "09:00", to: "17:00", dayz: weekdays }',
      'steps:',
      '  - email: welcome',
      '    sned_window: { from: "09:00", to: "17:00" }',
      '  - wait_for: { event: email_clicked, timout: 3 days }',
      '  - emial: guide',
      '  - if: { score: { gtee: 10 } }',
      '    then: []',
      '  - repeat: { every: 1 month, times: 2, stepz: [] }',
      '',
    ].join('\n');
    expect(problems(yaml)).toEqual([
      's.yaml:3: send_window.dayz: unknown field "dayz": did you mean "days"?',
      's.yaml:6: steps[0].sned_window: unknown field "sned_window": did you mean "send_window"?',
      's.yaml:7: steps[1].wait_for.timeout: is required',
      's.yaml:7: steps[1].wait_for.timout: unknown field "timout": did you mean "timeout"?',
      's.yaml:8: steps[2]: a step needs exactly one of email, postcard, letter, call, wait, repeat, wait_for, if, tag, untag, set, start, notify; found none of them (keys: emial): did you mean "email"?',
      's.yaml:9: steps[3].if.score.gtee: unknown field "gtee": did you mean "gte"?',
      's.yaml:11: steps[4].repeat.steps: is required',
      's.yaml:11: steps[4].repeat.stepz: unknown field "stepz": did you mean "steps"?',
    ]);
  });

  it('names the unknown key, not a field of whichever form came first, when no form of a condition knows it', () => {
    expect(problems(`${HEAD}steps:\n  - if: { tg: vip }\n    then: []\n  - if: { not: { clikced: welcome } }\n    then: []\n`)).toEqual([
      's.yaml:4: steps[0].if.tg: unknown field "tg": did you mean "tag"?',
      's.yaml:6: steps[1].if.not.clikced: unknown field "clikced": did you mean "clicked"?',
    ]);
  });

  it('says "unknown field" without a guess when nothing is close', () => {
    expect(problems(`${HEAD}colour: blue\n${STEPS}`)).toEqual(['s.yaml:3: colour: unknown field "colour"']);
  });
});

describe('event types one typo from a built-in one', () => {
  it('are warnings at their line: the sequence loads, but may wait for an event nobody sends', () => {
    const yaml = [
      'id: s',
      'trigger: { event: opt_in }',
      'exit: [ { event: unsubscibed }, { promoted: lead } ]',
      'steps:',
      '  - email: welcome',
      '  - wait_for: { event: email_clicked, timeout: 3 days }',
      '    on_timeout:',
      '      - if: { any: [ { event: email_opend }, { event: webinar_attended } ] }',
      '        then: [ { tag: warm } ]',
      '',
    ].join('\n');
    const doc = parseYamlDocument(yaml, 's.yaml');
    if (!doc.ok) throw new Error('bad fixture');
    const r = validateSequence(doc.value, 's.yaml', doc.lineOf);
    expect(r.program).toBeDefined();
    expect(r.problems.map(formatProblem)).toEqual([
      's.yaml:3: exit[0].event: "unsubscibed" is not a built-in event: did you mean "unsubscribed"? (fine if your own producer sends "unsubscibed") (warning)',
      's.yaml:8: steps[1].on_timeout[0].if.any[0].event: "email_opend" is not a built-in event: did you mean "email_opened"? (fine if your own producer sends "email_opend") (warning)',
    ]);
  });
});
