import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { snoozeEnd } from '../../../src/app/snooze-task.js';
import { closedTaskConflict, mayWork } from '../../../src/app/staff-task-guard.js';
import type { TaskRow } from '../../../src/db/task-repository.js';
import type { StaffUser, TeamDirectory } from '../../../src/staff/directory.js';

const NOW = DateTime.fromISO('2026-11-23T10:00:00Z', { zone: 'utc' });

describe('snoozeEnd', () => {
  it('for any duration from a minute to a year, ends exactly that long after now', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 365 * 24 * 60 }), (minutes) => {
        const end = snoozeEnd({ duration: `${minutes} minutes` }, NOW);
        expect(end.getTime()).toBe(NOW.plus({ minutes }).toMillis());
      }),
    );
  });

  it('refuses an end that is not after now, or more than 366 days ahead', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 * 365 * 86_400 }), (secondsBack) => {
        expect(() => snoozeEnd({ until: NOW.minus({ seconds: secondsBack }).toJSDate() }, NOW)).toThrow(/is not after now/);
      }),
    );
    expect(() => snoozeEnd({ duration: '367 days' }, NOW)).toThrow(/more than 366 days ahead/);
    expect(() => snoozeEnd({ duration: 'soon' }, NOW)).toThrow(/--for: "soon"/);
    expect(snoozeEnd({ until: new Date('2026-11-24T09:00:00Z') }, NOW).toISOString()).toBe('2026-11-24T09:00:00.000Z');
  });
});

describe('closedTaskConflict', () => {
  const task = (over: Partial<TaskRow>) => ({ id: 7, status: 'open', outcome: null, completed_at: null, ...over }) as TaskRow;
  it('says the state, why and since when; nothing for an open task', () => {
    const at = new Date('2026-11-23T12:00:00Z');
    expect(closedTaskConflict(task({}), 'claimed')).toBeUndefined();
    expect(closedTaskConflict(task({ status: 'cancelled', outcome: 'cancelled: unsubscribed', completed_at: at }), 'claimed')?.message).toBe(
      'task 7 is cancelled (unsubscribed) since 2026-11-23T12:00:00.000Z: it cannot be claimed',
    );
    expect(closedTaskConflict(task({ status: 'done', outcome: 'connected', completed_at: at }), 'snoozed')?.message).toBe('task 7 is done (connected) since 2026-11-23T12:00:00.000Z: it cannot be snoozed');
  });
});

describe('mayWork', () => {
  const user = (email: string, teams: string[]): StaffUser => ({ email, name: email, zone: 'UTC', hours: { 1: [], 2: [], 3: [], 4: [], 5: [], 6: [], 7: [] }, teams, capacity: null });
  const TEAMS = ['sales', 'office', 'west'];
  it('a user works a task they hold, or of a team they are in or manage; never another team\'s', () => {
    fc.assert(
      fc.property(
        fc.subarray(TEAMS),
        fc.option(fc.constantFrom(...TEAMS), { nil: null }),
        fc.option(fc.constantFrom('me@example.com', 'other@example.com'), { nil: null }),
        fc.option(fc.constantFrom(...TEAMS), { nil: undefined }),
        (teams, taskTeam, assignee, manages) => {
          const me = user('me@example.com', teams);
          const dir = { file: 'team.yaml', users: [me], teams: TEAMS.map((name) => ({ name, manager: name === manages ? me.email : null, holidays: [], members: [] })) } as unknown as TeamDirectory;
          const expected = assignee === me.email || (taskTeam !== null && (teams.includes(taskTeam) || taskTeam === manages));
          expect(mayWork(dir, me, { assignee, team: taskTeam })).toBe(expected);
        },
      ),
    );
  });
});
