import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countdownText } from '../../src/http/inbox/countdown.js';
import { canSeeTask, inboxViewer } from '../../src/queries/inbox-viewer.js';
import { outcomesFor } from '../../src/staff/outcomes.js';
import type { TeamDirectory } from '../../src/staff/directory.js';

const declaredOutcomes = (dir: TeamDirectory | undefined, kind: string) => outcomesFor(kind, dir?.outcomes);
import { inboxDirectory } from '../support/inbox.js';

const TEAMS = ['sales', 'office', 'support'];
const USERS = ['bob@example.com', 'dana@example.com', 'olive@example.com'];

const viewerArb = fc.record({
  email: fc.constantFrom(...USERS),
  name: fc.constant('Someone'),
  teams: fc.subarray(TEAMS),
  manages: fc.subarray(TEAMS),
});
const taskArb = fc.record({ assignee: fc.option(fc.constantFrom(...USERS), { nil: null }), team: fc.option(fc.constantFrom(...TEAMS), { nil: null }) });

describe('who sees a task in the inbox', () => {
  it('a task held by someone else is visible only to a manager of its team', () => {
    fc.assert(
      fc.property(viewerArb, taskArb, (v, t) => {
        fc.pre(t.assignee !== null && t.assignee !== v.email);
        expect(canSeeTask(v, t)).toBe(t.team !== null && v.manages.includes(t.team));
      }),
    );
  });

  it("an unclaimed task is visible exactly to its team's members and managers; one with no team to nobody", () => {
    fc.assert(
      fc.property(viewerArb, taskArb, (v, t) => {
        fc.pre(t.assignee === null);
        expect(canSeeTask(v, t)).toBe(t.team !== null && (v.teams.includes(t.team) || v.manages.includes(t.team)));
      }),
    );
  });

  it('their own tasks are always visible, whatever the team', () => {
    fc.assert(fc.property(viewerArb, fc.option(fc.constantFrom(...TEAMS), { nil: null }), (v, team) => {
        expect(canSeeTask(v, { assignee: v.email, team })).toBe(true);
      }),
    );
  });

  it('takes teams and managed teams from the directory, and knows no one outside it', () => {
    const dir = inboxDirectory();
    expect(inboxViewer(dir, 'Carol@Example.com')).toEqual({ email: 'carol@example.com', name: 'Carol Okafor', teams: ['sales'], manages: ['sales'] });
    expect(inboxViewer(dir, 'olive@example.com')?.manages).toEqual([]);
    expect(inboxViewer(dir, 'mallory@example.com')).toBeUndefined();
    expect(inboxViewer(undefined, 'bob@example.com')).toBeUndefined();
  });

  it('offers the declared outcomes of each kind; team.yaml replaces a kind\'s list', () => {
    expect(declaredOutcomes(undefined, 'call')).toEqual(['connected', 'no_answer', 'left_voicemail', 'appointment_booked', 'not_interested', 'wrong_number']);
    expect(declaredOutcomes(undefined, 'postcard')).toEqual(['sent', 'returned']);
    const dir = { ...inboxDirectory(), outcomes: { letter: ['sent', 'signed_for'] } };
    expect(declaredOutcomes(dir, 'letter')).toEqual(['sent', 'signed_for']);
    expect(declaredOutcomes(dir, 'postcard')).toEqual(['sent', 'returned']);
  });
});

describe('SLA countdown text', () => {
  it('shows minutes and seconds left, hours when there are, and time over once late', () => {
    expect(countdownText(4 * 60_000 + 5_000)).toBe('4:05 left');
    expect(countdownText(3_723_000)).toBe('1:02:03 left');
    expect(countdownText(0)).toBe('0:00 left');
    expect(countdownText(-30_500)).toBe('0:30 over');
  });
});
