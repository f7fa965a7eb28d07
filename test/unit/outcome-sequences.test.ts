import { DateTime } from 'luxon';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { advance } from '../../src/sequences/advance.js';
import { validateSequence } from '../../src/sequences/load.js';
import { contact, programFromYaml } from '../support/programs.js';

/** What the sequence language makes of task outcomes: mail to a returned address, waiting for an outcome. */

const START = DateTime.fromISO('2026-11-23T10:00:00', { zone: 'America/Chicago' });
const settings = { defaultZone: 'UTC' };

const RETRY = `
id: calls
trigger: { event: opt_in }
steps:
  - call: { note: "Intro call", due: 1 day }
    id: intro-call
  - wait_for: { event: task_completed, step: intro-call, where: { outcome: [no_answer, left_voicemail] }, timeout: 7 days }
    on_event:
      - call: { note: "Try again", due: 2 days }
        id: retry-call
  - postcard: hello
`;

describe('task outcomes in sequences', () => {
  it('a postcard or letter step for a contact whose address came back is skipped, visibly, and the sequence goes on', () => {
    const program = programFromYaml(`
id: mail
trigger: { event: opt_in }
steps:
  - postcard: hello
  - letter: offer
  - email: welcome
`);
    const r = advance({ program, state: null, enrollmentId: 'e-1', contact: contact({ addressBadAt: '2026-11-20T00:00:00.000Z' }), history: [], recentEmails: [], trigger: { kind: 'start' }, now: START, settings });
    expect(r.actions.map((a) => [a.kind, 'medium' in a ? a.medium : undefined, 'reason' in a ? a.reason : undefined])).toEqual([
      ['skipped', 'postcard', 'address_returned'],
      ['skipped', 'letter', 'address_returned'],
      ['email', undefined, undefined],
    ]);
    const ok = advance({ program, state: null, enrollmentId: 'e-1', contact: contact(), history: [], recentEmails: [], trigger: { kind: 'start' }, now: START, settings });
    expect(ok.actions.map((a) => a.kind)).toEqual(['mail_task', 'mail_task', 'email']);
  });

  it('task_completed is a built-in event: a wait_for on it loads without a warning, and its step may be a call step', () => {
    const r = validateSequence(parse(RETRY), 'calls.yaml');
    expect(r.problems).toEqual([]);
    expect(r.program).toBeDefined();
  });

  it('a wait_for step that names no email or task step is refused, listing both', () => {
    const r = validateSequence(parse(RETRY.replace('step: intro-call', 'step: intro')), 'calls.yaml');
    expect(r.problems.map((p) => p.message)).toEqual([
      '"intro" is not the id of an email or staff task step in this sequence (email steps: none; task steps: intro-call, retry-call, hello)',
    ]);
  });

  it('the outcome of that call, tied to its step, runs on_event; another outcome or another step waits on', () => {
    const program = programFromYaml(RETRY);
    const start = advance({ program, state: null, enrollmentId: 'e-1', contact: contact(), history: [], recentEmails: [], trigger: { kind: 'start' }, now: START, settings });
    expect(start.actions.map((a) => a.kind)).toEqual(['call_task']);
    const later = START.plus({ days: 1 });
    const event = (outcome: string, stepId = 'intro-call', enrollmentId = 'e-1') => ({
      kind: 'event' as const,
      event: { type: 'task_completed', data: { kind: 'call', outcome, step: stepId }, ref: { enrollmentId, stepId } },
    });
    const on = (trigger: ReturnType<typeof event>) =>
      advance({ program, state: start.state, enrollmentId: 'e-1', contact: contact(), history: [], recentEmails: [], trigger, now: later, settings });

    const retry = on(event('no_answer'));
    expect(retry.actions).toMatchObject([{ kind: 'call_task', stepId: 'retry-call', note: 'Try again' }, { kind: 'mail_task', stepId: 'hello' }]);
    expect(on(event('connected')).changed).toBe(false);
    expect(on(event('no_answer', 'other-call')).changed).toBe(false);
    expect(on(event('no_answer', 'intro-call', 'e-2')).changed).toBe(false);
  });
});
