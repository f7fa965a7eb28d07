import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { monthOfPartition, parseRetention, partitionName, partitionPlan } from '../../src/app/partition-plan.js';
import { loadConfig } from '../../src/config.js';

const at = (iso: string) => DateTime.fromISO(iso, { setZone: true });

describe('partitionPlan', () => {
  it('creates the current month and the next ones that are missing, by UTC month', () => {
    // 23:30 in New York on 30 November is already December in UTC.
    const plan = partitionPlan('events', at('2026-11-30T23:30:00-05:00'), ['events_default', 'events_y2026m12', 'events_y2027m02'], { ahead: 3, retentionMonths: undefined });
    expect(plan).toEqual({ create: ['2027-01-01', '2027-03-01'], drop: [] });
  });

  it('drops whole months older than the retention, keeping the current month and that many before it', () => {
    const existing = ['events_y2025m05', 'events_y2025m06', 'events_y2024m01', 'events_y2026m12', 'events_default', 'events_archive'];
    const plan = partitionPlan('events', at('2026-12-15T12:00:00Z'), existing, { ahead: 0, retentionMonths: 18 });
    expect(plan.drop).toEqual(['events_y2024m01', 'events_y2025m05']);
    expect(plan.create).toEqual([]);
  });

  it('plans each table by its own partitions: a plan of touches neither counts nor drops those of events', () => {
    const existing = ['touches_y2026m12', 'events_y2027m01', 'events_y2024m01', 'touches_y2024m01', 'touches_default', 'events_default'];
    const plan = partitionPlan('touches', at('2026-12-15T12:00:00Z'), existing, { ahead: 1, retentionMonths: 18 });
    expect(plan).toEqual({ create: ['2027-01-01'], drop: ['touches_y2024m01'] });
    expect(partitionName('touches', at('2027-01-01T00:00:00Z'))).toBe('touches_y2027m01');
    expect(monthOfPartition('touches', 'events_y2027m01')).toBeUndefined();
    expect(monthOfPartition('events', 'touches_y2027m01')).toBeUndefined();
    expect(monthOfPartition('touches', 'touches_y2027m01')?.toISODate()).toBe('2027-01-01');
  });

  it('never drops a month it would create, nor anything not named like a monthly partition', () => {
    const month = fc.integer({ min: 0, max: 12 * 60 }).map((n) => DateTime.fromObject({ year: 2000, month: 1, day: 1 }, { zone: 'utc' }).plus({ months: n }));
    fc.assert(
      fc.property(
        fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2060-01-01T00:00:00Z'), noInvalidDate: true }),
        fc.array(month, { maxLength: 30 }),
        fc.integer({ min: 0, max: 6 }),
        fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }),
        (now, months, ahead, retention) => {
          const existing = [...months.map((m) => partitionName('events', m)), 'events_default'];
          const t = DateTime.fromJSDate(now, { zone: 'utc' });
          const plan = partitionPlan('events', t, existing, { ahead, retentionMonths: retention });
          const created = new Set(plan.create.map((d) => partitionName('events', DateTime.fromISO(d, { zone: 'utc' }))));
          for (const name of plan.drop) {
            expect(created.has(name)).toBe(false);
            expect(existing).toContain(name);
            // Everything dropped ended before the retention began.
            expect(monthOfPartition('events', name)!.plus({ months: 1 }) <= t.startOf('month').minus({ months: retention! })).toBe(true);
          }
          // And everything of those months is dropped: none older stays.
          const kept = existing.filter((n) => !plan.drop.includes(n)).flatMap((n) => monthOfPartition('events', n) ?? []);
          if (retention !== undefined) for (const m of kept) expect(m >= t.startOf('month').minus({ months: retention })).toBe(true);
          expect(plan.drop).not.toContain('events_default');
          if (retention === undefined) expect(plan.drop).toEqual([]);
          // Afterwards the current month and `ahead` more exist.
          const after = new Set([...existing.filter((n) => !plan.drop.includes(n)), ...created]);
          for (let i = 0; i <= ahead; i++) expect(after.has(partitionName('events', t.startOf('month').plus({ months: i })))).toBe(true);
        },
      ),
    );
  });
});

describe('NURTURE_EVENTS_RETENTION and NURTURE_TOUCHES_RETENTION', () => {
  it('reads forever, months and years', () => {
    expect(parseRetention('forever')).toEqual({ ok: true, months: undefined });
    expect(parseRetention('18 months')).toEqual({ ok: true, months: 18 });
    expect(parseRetention('1 month')).toEqual({ ok: true, months: 1 });
    expect(parseRetention('2 Years')).toEqual({ ok: true, months: 24 });
    expect(loadConfig({}).eventsRetentionMonths).toBeUndefined();
    expect(loadConfig({ NURTURE_EVENTS_RETENTION: '3 years' }).eventsRetentionMonths).toBe(36);
    expect(loadConfig({}).touchesRetentionMonths).toBeUndefined();
    expect(loadConfig({ NURTURE_TOUCHES_RETENTION: '30 months' })).toMatchObject({ touchesRetentionMonths: 30, eventsRetentionMonths: undefined });
  });

  it('refuses what is no retention, saying what to write', () => {
    expect(() => loadConfig({ NURTURE_EVENTS_RETENTION: '18 munths' })).toThrow(/NURTURE_EVENTS_RETENTION: "18 munths" is not a retention: write "forever" or a number of months or years/);
    expect(() => loadConfig({ NURTURE_EVENTS_RETENTION: '0 months' })).toThrow(/at least 1 month/);
    expect(() => loadConfig({ NURTURE_TOUCHES_RETENTION: 'a while' })).toThrow(/NURTURE_TOUCHES_RETENTION: "a while" is not a retention/);
  });
});
