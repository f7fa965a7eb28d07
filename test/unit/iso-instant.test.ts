import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { isoInstant } from '../../src/sequences/iso-instant.js';

const same = (a: DateTime, b: DateTime) => {
  expect(a.isValid).toBe(b.isValid);
  if (!b.isValid) return;
  expect(a.toMillis()).toBe(b.toMillis());
  expect(a.zoneName).toBe(b.zoneName);
  expect(a.toISO()).toBe(b.toISO());
  expect(a.equals(b)).toBe(true);
};

/** isoInstant is luxon's fromISO with setZone, faster for the text toISO writes. */
describe('isoInstant', () => {
  const zones = ['UTC', 'America/New_York', 'Europe/Berlin', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham', 'America/St_Johns', 'Pacific/Kiritimati', 'Pacific/Pago_Pago'];

  it('reads what toISO writes as fromISO(…, { setZone: true }) does, in any zone and instant', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1000, 0, 2), max: Date.UTC(9999, 11, 30) }), fc.constantFrom(...zones), (ms, zone) => {
        const text = DateTime.fromMillis(ms, { zone }).toISO()!;
        same(isoInstant(text), DateTime.fromISO(text, { setZone: true }));
      }),
      { numRuns: 5000 },
    );
  });

  it('leaves any other text to luxon, valid or not', () => {
    for (const text of [
      '2026-12-06T09:30:00-05:00',
      '2026-12-06T09:30:00.000',
      '2026-12-06',
      '2026-W49-7T09:30:00.000Z',
      '2026-02-30T09:30:00.000Z',
      '2026-12-06T24:00:00.000Z',
      '2026-12-06T09:60:00.000Z',
      '2026-12-06T09:30:00.000+24:00',
      '0999-12-06T09:30:00.000Z',
      '+012026-12-06T09:30:00.000Z',
      '2026-12-06T09:30:00.000+05:30',
      '2026-12-06T09:30:00.000+00:00',
      'not a date',
    ]) {
      same(isoInstant(text), DateTime.fromISO(text, { setZone: true }));
    }
  });
});
