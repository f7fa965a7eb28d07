import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import type { TeamDirectory } from '../../../src/staff/directory.js';
import { planSla, replanAfterReassign, slaCalendar, slaRuleFor } from '../../../src/staff/sla.js';
import { parseTeamDirectory } from '../../../src/staff/team-file.js';
import { isCalendarWorkingAt, periodAt } from '../../../src/staff/working-hours.js';
import { dstChangeDays, instantNear } from '../../support/time-arbitraries.js';

function directory(text: string): TeamDirectory {
  const r = parseTeamDirectory(text, 'team.yaml');
  if (!r.ok || !r.value) throw new Error(JSON.stringify(r));
  return r.value;
}

const dir = directory(`
zone: America/New_York
hours: { weekdays: "09:00-12:00, 13:00-17:00" }
teams:
  sales: { holidays: [2026-12-25] }
users:
  bob@example.com: { name: Bob, teams: [sales] }
  dana@example.com: { name: Dana, zone: America/Los_Angeles, teams: [sales] }
`);
const at = (iso: string) => DateTime.fromISO(iso, { setZone: true });
const plan = (createdAt: DateTime, assignee: string | null = 'bob@example.com', team: string | null = 'sales') =>
  planSla(dir, { kind: 'call', priority: 'high', createdAt }, slaCalendar(dir, assignee, team))!;
const iso = (d: DateTime) => d.toUTC().toISO();

describe('planSla (the default: 5 minutes in hours, the first 15 of the next period outside them)', () => {
  it('in working hours: due 5 minutes later, reminded at 3, reassigned at 5, the manager told at 15', () => {
    const p = plan(at('2026-12-01T10:00:00-05:00'));
    expect(p.inHours).toBe(true);
    expect(iso(p.dueAt)).toBe('2026-12-01T15:05:00.000Z');
    expect(p.timers.map((t) => [t.step, t.action, iso(t.dueAt)])).toEqual([
      [1, 'remind', '2026-12-01T15:03:00.000Z'],
      [2, 'reassign', '2026-12-01T15:05:00.000Z'],
      [3, 'notify_manager', '2026-12-01T15:15:00.000Z'],
      [4, 'breach', '2026-12-01T15:05:00.000Z'],
    ]);
  });

  it('counts working time only: two minutes before lunch, the rest after it', () => {
    const p = plan(at('2026-12-01T11:58:00-05:00'));
    expect(iso(p.dueAt)).toBe('2026-12-01T18:03:00.000Z'); // 13:03 New York
  });

  it('outside hours: the first 15 minutes of the next working period', () => {
    // Friday evening: next period is Monday 09:00.
    const p = plan(at('2026-12-04T19:00:00-05:00'));
    expect(p.inHours).toBe(false);
    expect(iso(p.dueAt)).toBe('2026-12-07T14:15:00.000Z');
    expect(iso(p.timers[0]!.dueAt)).toBe('2026-12-07T14:03:00.000Z');
  });

  it('skips the team holidays', () => {
    // Christmas Eve evening: the 25th is a holiday, the 26th a Saturday: Monday 28th.
    expect(iso(plan(at('2026-12-24T18:00:00-05:00')).dueAt)).toBe('2026-12-28T14:15:00.000Z');
  });

  it('a queued task counts anyone of the team: Dana in Los Angeles works until 20:00 New York time', () => {
    const p = plan(at('2026-12-01T17:30:00-05:00'), null, 'sales');
    expect(p.inHours).toBe(true);
    expect(iso(p.dueAt)).toBe('2026-12-01T22:35:00.000Z');
  });

  it('without anyone to count, wall time', () => {
    const p = plan(at('2026-12-05T03:00:00Z'), null, null);
    expect(iso(p.dueAt)).toBe('2026-12-05T03:05:00.000Z');
  });

  it('no rule, no SLA; rules by kind and priority, first match', () => {
    expect(planSla(dir, { kind: 'postcard', priority: 'normal', createdAt: at('2026-12-01T10:00:00-05:00') }, slaCalendar(dir, null, null))).toBeUndefined();
    const d2 = directory(`users:\n  a@example.com: { name: A }\nsla:\n  - { kind: call, priority: high, within: 2m }\n  - { kind: '*', within: 1h, outside_hours: 2h }\n`);
    expect(slaRuleFor(d2, 'call', 'high')?.withinMs).toBe(120_000);
    expect(slaRuleFor(d2, 'call', 'normal')?.withinMs).toBe(3_600_000);
    expect(slaRuleFor(d2, 'letter', 'normal')?.outsideHoursMs).toBe(7_200_000);
  });

  it('after a reassignment, the later steps run on the new rep, as far after as they were', () => {
    const p = plan(at('2026-12-01T10:00:00-05:00'));
    const now = at('2026-12-01T10:05:00-05:00');
    const next = replanAfterReassign(p.rule, 1, slaCalendar(dir, 'dana@example.com', 'sales'), now, 5);
    // Dana starts at 09:00 Los Angeles (12:00 New York): 10 working minutes later.
    expect(next.map((t) => [t.step, t.action, iso(t.dueAt)])).toEqual([[5, 'notify_manager', '2026-12-01T17:10:00.000Z']]);
  });
});

const ZONES = ['America/New_York', 'Europe/London', 'Australia/Sydney', 'America/Sao_Paulo', 'Asia/Tehran', 'Pacific/Chatham'];
const changes = dstChangeDays(ZONES);

describe('SLA properties across zones and DST', () => {
  const dayHours = fc
    .tuple(fc.integer({ min: 0, max: 22 }), fc.integer({ min: 1, max: 10 }), fc.constantFrom('00', '30'))
    .map(([h, len, m]) => `${String(h).padStart(2, '0')}:${m}-${String(Math.min(24, h + len)).padStart(2, '0')}:00`);
  const setup = fc
    .record({
      zone: fc.constantFrom(...ZONES),
      hours: dayHours,
      days: fc.constantFrom('weekdays', 'daily', 'weekends', 'mon'),
      within: fc.integer({ min: 1, max: 120 }),
      outside: fc.integer({ min: 1, max: 120 }),
      holidays: fc.array(fc.integer({ min: 0, max: 700 }), { maxLength: 20 }),
    })
    .chain((s) => fc.tuple(fc.constant(s), fc.oneof(instantNear(changes[s.zone]!).uniform, instantNear(changes[s.zone]!).nearChange)));

  it('the deadline is never before creation and always falls inside a working period (or at its end); holidays never count', () => {
    fc.assert(
      fc.property(setup, ([s, t]) => {
        const holidays = s.holidays.map((d) => DateTime.fromMillis(Date.UTC(2026, 0, 1) + d * 86_400_000, { zone: 'utc' }).toISODate());
        const d = directory(
          `teams:\n  t: { holidays: [${holidays.join(', ')}] }\nusers:\n  a@example.com: { name: A, zone: ${s.zone}, teams: [t], hours: { ${s.days}: "${s.hours}" } }\nsla:\n  - { within: ${s.within}m, outside_hours: ${s.outside}m, escalation: [{ after: 1m, action: remind }] }\n`,
        );
        const cal = slaCalendar(d, 'a@example.com', 't');
        const createdAt = DateTime.fromMillis(t, { zone: 'utc' });
        const p = planSla(d, { kind: 'call', priority: 'high', createdAt }, cal)!;
        if (p.dueAt < createdAt) return false;
        const user = d.users[0]!;
        const h = cal.people[0]!.holidays;
        // Just before the deadline someone works (the clock only ran while they did).
        const before = p.dueAt.minus({ milliseconds: 1 });
        if (!isCalendarWorkingAt(cal, before)) return false;
        if (h.has(before.setZone(s.zone).toISODate()!)) return false;
        if (!periodAt(user, h, before)) return false;
        // Made outside hours: no sooner than `outside` after the next period starts.
        if (!p.inHours && p.dueAt.toMillis() - createdAt.toMillis() < s.outside * 60_000) return false;
        // Every timer is due at or after creation, the breach at the deadline.
        return p.timers.every((x) => x.dueAt >= createdAt) && p.timers.at(-1)!.dueAt.equals(p.dueAt);
      }),
      { numRuns: 400 },
    );
  });
});
