import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../../src/errors.js';
import type { EventsScriptOptions } from '../../src/sequences/events-script.js';
import { parseEventsScript, parseEventsScriptText, parseScriptTime } from '../../src/sequences/events-script.js';
import { EXAMPLE_SEQUENCE, programFromYaml } from '../support/programs.js';

const ZONE = 'America/Chicago';
const START = DateTime.fromISO('2026-11-22T10:00', { zone: ZONE });
const program = programFromYaml(EXAMPLE_SEQUENCE);
const opts: EventsScriptOptions = { program, start: START, zone: ZONE, file: 'events.yaml' };

function events(raw: unknown, o: Partial<EventsScriptOptions> = {}) {
  const r = parseEventsScript(raw, { ...opts, ...o });
  expect(r.problems.filter((p) => p.severity === 'error')).toEqual([]);
  return r.events.map((e) => ({ at: e.at.toISO(), type: e.type, step: e.step, data: e.data }));
}

function errors(raw: unknown): string[] {
  return parseEventsScript(raw, opts).problems.map(formatProblem);
}

describe('events script: the string forms', () => {
  it('reads "day N" at the start\'s local time, with an optional email step', () => {
    expect(events(['day 3: email_clicked on buyers-guide', 'day 0: page_visited'])).toEqual([
      { at: '2026-11-25T10:00:00.000-06:00', type: 'email_clicked', step: 'buyers-guide', data: undefined },
      { at: '2026-11-22T10:00:00.000-06:00', type: 'page_visited', step: undefined, data: undefined },
    ]);
  });

  it('reads "day N HH:MM" as that local time on that day', () => {
    expect(events(['day 20 14:30: appointment_requested', 'day 1 at 08:05: replied'])).toEqual([
      { at: '2026-12-12T14:30:00.000-06:00', type: 'appointment_requested', step: undefined, data: undefined },
      { at: '2026-11-23T08:05:00.000-06:00', type: 'replied', step: undefined, data: undefined },
    ]);
  });

  it('reads a time the clocks skip as the first instant after the jump, as waits do', () => {
    const start = DateTime.fromISO('2026-03-07T02:30', { zone: ZONE });
    expect(events(['day 1 02:30: page_visited', 'day 1: replied'], { start }).map((e) => e.at)).toEqual([
      '2026-03-08T03:00:00.000-05:00',
      '2026-03-08T03:00:00.000-05:00',
    ]);
  });

  it('reads "+duration" like a wait, from the start', () => {
    expect(events(['+2 hours: email_opened on welcome', '+2 business days: page_visited']).map((e) => e.at)).toEqual([
      '2026-11-22T12:00:00.000-06:00',
      // WORKDAY: two business days after Sunday is Tuesday.
      '2026-11-24T10:00:00.000-06:00',
    ]);
  });

  it('reads ISO date-times in the contact zone, and keeps an explicit offset', () => {
    expect(events(['2026-12-01T09:00: page_visited', '2026-12-01T09:00:00Z: page_visited']).map((e) => e.at)).toEqual([
      '2026-12-01T09:00:00.000-06:00',
      '2026-12-01T03:00:00.000-06:00',
    ]);
  });

  it('keeps the wall-clock time across a DST change for "day N", not for "+24 hours"', () => {
    const start = DateTime.fromISO('2027-03-13T10:00', { zone: ZONE });
    expect(events(['day 1: page_visited', '+1 day: page_visited', '+24 hours: page_visited'], { start }).map((e) => e.at)).toEqual([
      '2027-03-14T10:00:00.000-05:00',
      '2027-03-14T10:00:00.000-05:00',
      '2027-03-14T11:00:00.000-05:00',
    ]);
  });
});

describe('events script: the map forms', () => {
  it('reads { at, event, on, data }', () => {
    expect(events([{ at: 'day 3', event: 'email_clicked', on: 'buyers-guide', data: { url: 'https://example.com/book' } }])).toEqual([
      { at: '2026-11-25T10:00:00.000-06:00', type: 'email_clicked', step: 'buyers-guide', data: { url: 'https://example.com/book' } },
    ]);
  });

  it('reads the unquoted YAML form (a one-key map), with a map or a string as its value', () => {
    const r = parseEventsScriptText(
      ['- day 3: email_clicked on buyers-guide', '- day 4 09:15: { event: page_visited, data: { page: /pricing } }', '- "+1 week": replied'].join('\n'),
      opts,
    );
    expect(r.problems).toEqual([]);
    expect(r.events.map((e) => [e.at.toISO(), e.type, e.step ?? null, e.data ?? null])).toEqual([
      ['2026-11-25T10:00:00.000-06:00', 'email_clicked', 'buyers-guide', null],
      ['2026-11-26T09:15:00.000-06:00', 'page_visited', null, { page: '/pricing' }],
      ['2026-11-29T10:00:00.000-06:00', 'replied', null, null],
    ]);
  });

  it('treats an empty script as no events', () => {
    expect(parseEventsScript(null, opts)).toEqual({ events: [], problems: [] });
    expect(parseEventsScriptText('', opts)).toEqual({ events: [], problems: [] });
  });
});

describe('events script: problems name the item, the field and the line', () => {
  it('rejects a time it cannot read', () => {
    expect(errors(['day 3: replied', 'day 4: replied', 'day x: email_clicked'])).toEqual([
      'events.yaml: [2].at: "day x" is not a time: write "day 3", "day 3 09:30", "+2 hours" or an ISO instant',
    ]);
    expect(errors(['day 3 25:00: replied', '+3 munths: replied', '2026-13-01T09:00: replied', { at: ['day 3'], event: 'replied' }])).toEqual([
      'events.yaml: [0].at: "day 3 25:00": "25:00" is not a time of day (write "HH:MM", e.g. "day 3 09:30")',
      'events.yaml: [1].at: "+3 munths" is not a time: "3 munths" is not a duration (try "3 days", "2 business days", "1 month" or ISO 8601 like "P3D")',
      'events.yaml: [2].at: "2026-13-01T09:00" is not a valid ISO date and time (e.g. "2026-12-01T09:00", read in America/Chicago)',
      'events.yaml: [3].at: is not a time: write "day 3", "day 3 09:30", "+2 hours" or an ISO instant',
    ]);
  });

  it('rejects a time before the enrollment starts', () => {
    expect(errors(['day 0 09:00: replied'])).toEqual([
      'events.yaml: [0].at: "day 0 09:00" is Sun 22 Nov 2026 09:00, before the enrollment starts (Sun 22 Nov 2026 10:00)',
    ]);
  });

  it('requires `on` to name an email step of the sequence, and lists them', () => {
    expect(errors(['day 3: email_clicked on buyers-guid', { at: 'day 4', event: 'email_opened', on: 'call' }])).toEqual([
      'events.yaml: [0].on: "buyers-guid" is not an email step of new-opt-in (email steps: welcome, buyers-guide, monthly-value)',
      'events.yaml: [1].on: "call" is not an email step of new-opt-in (email steps: welcome, buyers-guide, monthly-value)',
    ]);
  });

  it('names missing and unknown fields, bad event types and shapeless items', () => {
    expect(errors([{ at: 'day 1' }, { at: 'day 1', event: 'replied', when: 'later' }, 'day 2: Email Clicked', 42, 'no colon here'])).toEqual([
      'events.yaml: [0].event: is required',
      'events.yaml: [1].when: unknown field "when" (use at, event, on, data)',
      'events.yaml: [2].event: "Email Clicked" is not an event: write a type like "email_clicked", then "on STEP" for the email it refers to',
      'events.yaml: [3]: an event is written "day 3: email_clicked on buyers-guide" or as a map with at, event, on and data',
      'events.yaml: [4]: an event is written "day 3: email_clicked on buyers-guide" or as a map with at, event, on and data',
    ]);
    expect(errors({ 'day 3': 'replied' })[0]).toMatch(/^events\.yaml: an events script is a list/);
  });

  it('warns about an event type nothing listens for, and still runs it', () => {
    const r = parseEventsScript(['day 3: appointment_request', 'day 4: info_requested'], opts);
    expect(r.events).toHaveLength(2);
    expect(r.problems.map(formatProblem)).toEqual([
      'events.yaml: [0].event: "appointment_request" is neither a built-in event nor one new-opt-in listens for: it will change nothing (warning)',
    ]);
    expect(parseEventsScript(['day 3: lead_scored'], { ...opts, knownEvents: ['lead_scored'] }).problems).toEqual([]);
  });

  it('gives the line of the item in the YAML text', () => {
    const text = ['# what Ann does', '- day 3: email_clicked on buyers-guide', '- at: day 5', '  event: replied', '- day x: replied'].join('\n');
    expect(parseEventsScriptText(text, opts).problems.map(formatProblem)).toEqual([
      'events.yaml:5: [2].at: "day x" is not a time: write "day 3", "day 3 09:30", "+2 hours" or an ISO instant',
    ]);
    const bad = parseEventsScriptText(['- at: day 5', '  event: replied', '- at: day 6', '  event: email_opened', '  on: nope'].join('\n'), opts);
    expect(bad.problems.map(formatProblem)).toEqual([
      'events.yaml:5: [1].on: "nope" is not an email step of new-opt-in (email steps: welcome, buyers-guide, monthly-value)',
    ]);
    expect(parseEventsScriptText('- day 3: [unclosed', opts).problems[0]!.message).toMatch(/^not valid YAML: /);
  });
});

describe('parseScriptTime', () => {
  it('answers in the zone it is given', () => {
    const r = parseScriptTime('day 2', DateTime.fromISO('2026-06-01T12:00:00Z'), { zone: 'Asia/Kolkata', holidays: new Set() });
    expect(r.ok && r.at.toISO()).toBe('2026-06-03T17:30:00.000+05:30');
  });
});
