import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import type { TeamDirectory } from '../../src/staff/directory.js';
import { findUser } from '../../src/staff/directory.js';
import { digestMessage, digestSlot } from '../../src/staff/digest.js';
import { parseTeamDirectory } from '../../src/staff/team-file.js';

const TEAM = `
zone: America/New_York
hours: { weekdays: "09:00-17:00" }
teams:
  sales: { holidays: [2026-12-25] }
users:
  bob@example.com: { name: Bob, teams: [sales] }
  dana@example.com: { name: Dana, zone: America/Los_Angeles, hours: { weekdays: "08:00-12:00, 13:00-17:00" }, teams: [sales] }
  kai@example.com: { name: Kai, zone: Asia/Tokyo, hours: { mon: "09:00-18:00", tue: "09:00-18:00" }, teams: [sales] }
`;

function directory(): TeamDirectory {
  const r = parseTeamDirectory(TEAM, 'team.yaml');
  if (!r.ok || !r.value) throw new Error('team.yaml');
  return r.value;
}
const dir = directory();
const user = (email: string) => findUser(dir, email)!;
const utc = (iso: string) => DateTime.fromISO(iso, { zone: 'utc' });

describe('digestSlot', () => {
  it('opens at the start of the working day in the user zone and closes when the last period ends', () => {
    const bob = user('bob@example.com');
    expect(digestSlot(dir, bob, utc('2026-12-03T13:59:59Z'))).toBeUndefined();
    const slot = digestSlot(dir, bob, utc('2026-12-03T14:00:00Z'))!;
    expect(slot.localDate).toBe('2026-12-03');
    expect(slot.dayStart.toISO()).toBe('2026-12-03T09:00:00.000-05:00');
    expect(slot.dayEnd).toEqual(new Date('2026-12-04T05:00:00Z'));
    expect(digestSlot(dir, bob, utc('2026-12-03T21:59:00Z'))?.localDate).toBe('2026-12-03');
    expect(digestSlot(dir, bob, utc('2026-12-03T22:00:00Z'))).toBeUndefined();
  });

  it('a lunch break keeps the day open; a holiday and a weekend have none', () => {
    expect(digestSlot(dir, user('dana@example.com'), utc('2026-12-03T20:30:00Z'))?.localDate).toBe('2026-12-03'); // 12:30 in LA
    expect(digestSlot(dir, user('bob@example.com'), utc('2026-12-25T15:00:00Z'))).toBeUndefined();
    expect(digestSlot(dir, user('bob@example.com'), utc('2026-12-05T15:00:00Z'))).toBeUndefined();
  });

  it('a user ahead of UTC gets the digest of their own date (Monday in Tokyo is Sunday in UTC)', () => {
    const slot = digestSlot(dir, user('kai@example.com'), utc('2026-12-07T00:00:00Z'))!; // Mon 09:00 in Tokyo
    expect(slot.localDate).toBe('2026-12-07');
    expect(digestSlot(dir, user('kai@example.com'), utc('2026-12-06T23:59:00Z'))).toBeUndefined();
  });

  it('for every instant, a slot exists exactly when the user is inside their working day, and names that local date', () => {
    const start = utc('2026-01-01T00:00:00Z').toMillis();
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 365 * 24 * 60 }), fc.constantFrom('bob@example.com', 'dana@example.com', 'kai@example.com'), (minutes, email) => {
        const u = user(email);
        const now = DateTime.fromMillis(start + minutes * 60_000, { zone: 'utc' });
        const slot = digestSlot(dir, u, now);
        const local = now.setZone(u.zone);
        if (!slot) return;
        expect(slot.localDate).toBe(local.toISODate());
        expect(slot.dayStart.toMillis()).toBeLessThanOrEqual(now.toMillis());
        expect(slot.dayEnd.getTime()).toBeGreaterThan(now.toMillis());
        expect(local.weekday).toBeLessThanOrEqual(5);
      }),
    );
  });
});

describe('digestMessage', () => {
  it('lists overdue before due today, in the user zone, and counts both in the subject', () => {
    const bob = user('bob@example.com');
    const now = utc('2026-12-03T14:00:00Z');
    const slot = digestSlot(dir, bob, now)!;
    const t = (id: number, due: string, assignee: string | null = 'bob@example.com') => ({
      id, kind: 'call', priority: 'normal' as const, title: `Call ${id}`, dueAt: new Date(due), assignee, team: 'sales', contactEmail: `c${id}@x.example`, phone: null,
    });
    const m = digestMessage(bob, slot, [t(2, '2026-12-03T19:00:00Z'), t(1, '2026-12-02T15:00:00Z'), t(3, '2026-12-03T16:00:00Z', null)], now);
    expect(m.subject).toBe('Your tasks for Thursday 3 December: 1 overdue, 2 due today');
    expect(m.text.split('\n').filter((l) => l.startsWith('  #'))).toEqual([
      '  #1 call Wed 2 Dec 10:00: Call 1 (c1@x.example)',
      '  #3 call 11:00: Call 3 (c3@x.example) [sales queue, unclaimed]',
      '  #2 call 14:00: Call 2 (c2@x.example)',
    ]);
    expect(digestMessage({ ...bob, name: '<b>Bob</b>' }, slot, [t(1, '2026-12-03T19:00:00Z')], now).html).toContain('&#60;b&#62;Bob&#60;/b&#62;');
  });
});
