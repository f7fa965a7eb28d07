import { readFileSync } from 'node:fs';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { parseTeamDirectory } from '../../../src/staff/team-file.js';
import { holidaysOf, isWorkingAt, nextPeriodStart } from '../../../src/staff/working-hours.js';
import { findUser } from '../../../src/staff/directory.js';

const example = readFileSync(new URL('../../../examples/team.yaml', import.meta.url), 'utf8');

describe('team.yaml', () => {
  it('parses the example directory', () => {
    const r = parseTeamDirectory(example, 'team.yaml');
    if (!r.ok || !r.value) throw new Error(JSON.stringify(r));
    const dir = r.value;
    expect(dir.users.map((u) => u.email)).toEqual(['bob@example.com', 'dana@example.com', 'carol@example.com', 'olive@example.com']);
    expect(dir.teams.find((t) => t.name === 'sales')?.members).toEqual(['bob@example.com', 'dana@example.com', 'carol@example.com']);
    expect(findUser(dir, 'Dana@Example.com')?.hours[6]).toEqual([{ from: 540, to: 720 }]);
    expect(dir.rules.map((x) => x.to.kind)).toEqual(['owner', 'user', 'round_robin', 'queue']);
    expect(dir.slas[0]?.escalation.map((e) => e.afterMs)).toEqual([180_000, 300_000, 900_000]);
  });

  it('names the line, the field and the value of each mistake', () => {
    const text = ['teams:', '  sales: {}', 'users:', '  bob@example.com:', '    name: Bob', '    teams: [salse]', '    hours: { mon: "9-5" }', 'fallback: nobody@example.com'].join('\n');
    const r = parseTeamDirectory(text, 'team.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toEqual([
      expect.objectContaining({ path: 'users.bob@example.com.teams[0]', line: 6, message: expect.stringContaining('"salse" is not a team of this file: did you mean "sales"?') }),
      expect.objectContaining({ path: 'users.bob@example.com.hours.mon', line: 7, message: expect.stringContaining('"9-5" is not a period like 09:00-17:00') }),
      expect.objectContaining({ path: 'fallback', line: 8, message: expect.stringContaining('"nobody@example.com" is not a user of this file') }),
    ]);
  });

  it('knows when a user works, holidays included', () => {
    const r = parseTeamDirectory(example, 'team.yaml');
    if (!r.ok || !r.value) throw new Error('parse');
    const bob = findUser(r.value, 'bob@example.com')!;
    const holidays = holidaysOf(r.value, bob);
    const fri = DateTime.fromISO('2026-12-25T10:00', { zone: 'America/New_York' });
    expect(isWorkingAt(bob, holidays, fri)).toBe(false);
    expect(nextPeriodStart(bob, holidays, fri)?.start.toISO()).toBe('2026-12-28T09:00:00.000-05:00');
    expect(isWorkingAt(bob, holidays, DateTime.fromISO('2026-12-24T16:59', { zone: 'America/New_York' }))).toBe(true);
  });
});
