import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import type { AssignInput, ContactFacts, TaskFacts } from '../../../src/staff/assign.js';
import { decideAssignment, decideReassignment, ruleMatches } from '../../../src/staff/assign.js';
import type { TeamDirectory } from '../../../src/staff/directory.js';
import { findUser } from '../../../src/staff/directory.js';
import { parseTeamDirectory } from '../../../src/staff/team-file.js';
import { holidaysOf, isWorkingAt } from '../../../src/staff/working-hours.js';

function directory(text: string): TeamDirectory {
  const r = parseTeamDirectory(text, 'team.yaml');
  if (!r.ok || !r.value) throw new Error(JSON.stringify(r));
  return r.value;
}

const TEAM = `
zone: America/New_York
hours: { weekdays: "09:00-17:00" }
teams:
  sales: { manager: carol@example.com, holidays: [2026-12-25] }
  office: {}
users:
  bob@example.com: { name: Bob Rivera, teams: [sales], capacity: 2 }
  dana@example.com: { name: Dana Kim, zone: America/Los_Angeles, teams: [sales], capacity: 2 }
  erin@example.com: { name: Erin Poe, zone: Europe/Berlin, teams: [sales], capacity: 2 }
  carol@example.com: { name: Carol Okafor, teams: [sales] }
  olive@example.com: { name: Olive Brandt, teams: [office] }
assignment:
  - name: own rep
    to: owner
  - name: west
    when: { kind: call, attributes.territory: [west, pacific] }
    to: { user: dana@example.com }
  - name: calls
    when: { kind: call }
    to: { round_robin: sales }
  - name: mail
    when: { kind: [postcard, letter] }
    to: { queue: office }
fallback: olive@example.com
`;
const dir = directory(TEAM);

// Tuesday 2026-12-01 15:30 UTC: 10:30 in New York, 07:30 in Los Angeles, 16:30 in Berlin.
const NOW = DateTime.fromISO('2026-12-01T15:30:00Z', { zone: 'utc' });
const call: TaskFacts = { kind: 'call', priority: 'high', title: 'Call the new lead', sequence: null };
const nobody: ContactFacts = { owner: null, attributes: {}, tags: [], timezone: null };
const input = (o: Partial<AssignInput> = {}): AssignInput => ({ directory: dir, task: call, contact: nobody, loads: new Map(), cursors: new Map(), now: NOW, ...o });

describe('decideAssignment', () => {
  it('goes round the team among those working now and under capacity, and says why', () => {
    const d = decideAssignment(input({ loads: new Map([['bob@example.com', 2]]) }));
    expect(d).toMatchObject({ kind: 'assign', assignee: 'erin@example.com', team: 'sales', rule: 'calls', cursor: { team: 'sales', last: 'erin@example.com' } });
    if (d.kind !== 'assign') return;
    expect(d.reason).toContain('round-robin in team sales, 2 of 4 available, Bob at capacity, Dana off-hours');
  });

  it('continues after the cursor', () => {
    expect(decideAssignment(input({ cursors: new Map([['sales', 'bob@example.com']]) }))).toMatchObject({ assignee: 'erin@example.com' });
    expect(decideAssignment(input({ cursors: new Map([['sales', 'erin@example.com']]) }))).toMatchObject({ assignee: 'carol@example.com' });
    // Carol has no limit; after her the rotation wraps to Bob.
    expect(decideAssignment(input({ cursors: new Map([['sales', 'carol@example.com']]) }))).toMatchObject({ assignee: 'bob@example.com' });
  });

  it('keeps the contact with its owner', () => {
    expect(decideAssignment(input({ contact: { ...nobody, owner: 'dana@example.com' } }))).toMatchObject({ kind: 'assign', assignee: 'dana@example.com', rule: 'own rep' });
    // An owner who left the directory: the next rules decide.
    expect(decideAssignment(input({ contact: { ...nobody, owner: 'gone@example.com' } }))).toMatchObject({ rule: 'calls' });
  });

  it('matches contact attributes case-insensitively, lists as any-of', () => {
    expect(decideAssignment(input({ contact: { ...nobody, attributes: { territory: 'Pacific' } } }))).toMatchObject({ assignee: 'dana@example.com', rule: 'west' });
    expect(decideAssignment(input({ contact: { ...nobody, attributes: { territory: 'east' } } }))).toMatchObject({ rule: 'calls' });
  });

  it('leaves mail in the office queue and falls back for everything else', () => {
    expect(decideAssignment(input({ task: { ...call, kind: 'postcard' } }))).toMatchObject({ kind: 'queue', team: 'office', rule: 'mail' });
    expect(decideAssignment(input({ task: { ...call, kind: 'notice' } }))).toMatchObject({ kind: 'assign', assignee: 'olive@example.com', rule: null, reason: expect.stringContaining('fallback') });
    const noFallback = { ...dir, fallback: null };
    expect(decideAssignment(input({ directory: noFallback, task: { ...call, kind: 'notice' } }))).toMatchObject({ kind: 'unassigned' });
  });

  it('at night picks whoever works first, and queues when everyone is at capacity', () => {
    // Tuesday 03:00 UTC: 22:00 Monday in New York, 04:00 in Berlin. Erin (Berlin) starts first.
    const night = DateTime.fromISO('2026-12-01T03:00:00Z', { zone: 'utc' });
    expect(decideAssignment(input({ now: night }))).toMatchObject({ kind: 'assign', assignee: 'erin@example.com', reason: expect.stringContaining('Erin works first') });
    const full = new Map([['bob@example.com', 2], ['dana@example.com', 5], ['erin@example.com', 2]]);
    const noCarol = directory(TEAM.replace('  carol@example.com: { name: Carol Okafor, teams: [sales] }\n', '  carol@example.com: { name: Carol Okafor }\n'));
    expect(decideAssignment(input({ directory: noCarol, loads: full }))).toMatchObject({ kind: 'queue', team: 'sales', reason: expect.stringContaining('nobody under capacity') });
  });

  it('respects the team holidays', () => {
    // Christmas, 10:30 in New York: a Friday, but the sales team is off.
    const xmas = DateTime.fromISO('2026-12-25T15:30:00Z', { zone: 'utc' });
    const d = decideAssignment(input({ now: xmas }));
    expect(d.kind === 'assign' && d.reason).toContain('0 of 4 available');
  });
});

describe('ruleMatches', () => {
  it('needs every key; tags match when the contact has one of them', () => {
    const c: ContactFacts = { owner: null, attributes: { size: 12 }, tags: ['vip', 'b2b'], timezone: 'Europe/Paris' };
    expect(ruleMatches({ kind: 'call', tags: ['vip'] }, call, c)).toBe(true);
    expect(ruleMatches({ kind: 'call', tags: 'gold' }, call, c)).toBe(false);
    expect(ruleMatches({ 'attributes.size': '12', timezone: 'europe/paris' }, call, c)).toBe(true);
    expect(ruleMatches({ sequence: 'welcome' }, call, c)).toBe(false);
    expect(ruleMatches({}, call, c)).toBe(true);
  });
});

describe('decideReassignment', () => {
  it('never picks the current assignee, nor anyone off-hours or at capacity', () => {
    const d = decideReassignment({ directory: dir, team: 'sales', current: 'bob@example.com', loads: new Map([['erin@example.com', 2]]), cursors: new Map(), now: NOW });
    expect(d).toMatchObject({ kind: 'reassign', assignee: 'carol@example.com' });
    const none = decideReassignment({ directory: dir, team: 'sales', current: 'carol@example.com', loads: new Map([['erin@example.com', 2], ['bob@example.com', 2]]), cursors: new Map(), now: NOW });
    expect(none).toMatchObject({ kind: 'keep', reason: expect.stringContaining('nobody else') });
  });
});

const ZONES = ['America/New_York', 'America/Los_Angeles', 'Europe/Berlin', 'Australia/Sydney', 'Asia/Kolkata', 'UTC'];

describe('assignment properties', () => {
  const team = fc
    .array(fc.record({ zone: fc.constantFrom(...ZONES), capacity: fc.option(fc.integer({ min: 1, max: 3 }), { nil: null }), load: fc.integer({ min: 0, max: 4 }), start: fc.integer({ min: 0, max: 12 }), len: fc.integer({ min: 1, max: 12 }) }), { minLength: 1, maxLength: 6 })
    .map((ms) => {
      const users = ms.map((m, i) => `  u${i}@example.com: { name: U${i}, zone: ${m.zone}, teams: [sales]${m.capacity === null ? '' : `, capacity: ${m.capacity}`}, hours: { daily: "${String(m.start).padStart(2, '0')}:00-${String(m.start + m.len).padStart(2, '0')}:00" } }`);
      const d = directory(`teams:\n  sales: { holidays: [2026-03-08, 2026-10-25] }\nusers:\n${users.join('\n')}\nassignment:\n  - name: rr\n    to: { round_robin: sales }\n`);
      return { d, loads: new Map(ms.map((m, i) => [`u${i}@example.com`, m.load])) };
    });
  const instant = fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2027, 11, 31) }).map((t) => DateTime.fromMillis(t, { zone: 'utc' }));

  it('never picks someone off-hours or at capacity while another member is available; never someone at capacity', () => {
    fc.assert(
      fc.property(team, instant, fc.nat(), ({ d, loads }, now, c) => {
        const users = d.users;
        const cursor = users[c % users.length]!.email;
        const decision = decideAssignment({ directory: d, task: call, contact: nobody, loads, cursors: new Map([['sales', cursor]]), now });
        const free = (e: string) => {
          const u = findUser(d, e)!;
          return u.capacity === null || (loads.get(e) ?? 0) < u.capacity;
        };
        const available = users.filter((u) => free(u.email) && isWorkingAt(u, holidaysOf(d, u), now));
        if (decision.kind === 'queue') return users.every((u) => !free(u.email));
        if (decision.kind !== 'assign') return false;
        if (!free(decision.assignee)) return false;
        if (available.length > 0) return available.some((u) => u.email === decision.assignee);
        return true;
      }),
      { numRuns: 300 },
    );
  });

  it('reassignment never picks the current assignee, nor anyone unavailable', () => {
    fc.assert(
      fc.property(team, instant, fc.nat(), ({ d, loads }, now, c) => {
        const current = d.users[c % d.users.length]!.email;
        const r = decideReassignment({ directory: d, team: 'sales', current, loads, cursors: new Map(), now });
        const others = d.users.filter((u) => u.email !== current && (u.capacity === null || (loads.get(u.email) ?? 0) < u.capacity) && isWorkingAt(u, holidaysOf(d, u), now));
        if (r.kind === 'keep') return others.length === 0;
        return r.assignee !== current && others.some((u) => u.email === r.assignee);
      }),
      { numRuns: 300 },
    );
  });
});
