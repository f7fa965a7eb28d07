import fc from 'fast-check';
import { DateTime, IANAZone } from 'luxon';
import { describe, expect, it } from 'vitest';
import { isValidZone, zoneNamed } from '../../src/sequences/zones.js';

const ZONES = ['America/Chicago', 'America/New_York', 'Europe/London', 'Europe/Berlin', 'Australia/Sydney', 'Asia/Kolkata', 'Pacific/Auckland', 'America/Sao_Paulo', 'Asia/Gaza', 'Australia/Lord_Howe', 'UTC'];
const FROM = Date.UTC(2024, 0, 1);
const TO = Date.UTC(2030, 0, 1);

describe('the memoising zone', () => {
  it('gives exactly the offsets of the IANA zone, around DST changes too', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ZONES), fc.integer({ min: FROM, max: TO }), fc.integer({ min: -3 * 3600_000, max: 3 * 3600_000 }), (name, ts, jitter) => {
        const memo = zoneNamed(name);
        const iana = IANAZone.create(name);
        // Ask twice, so the second answer comes from the memo.
        expect(memo.offset(ts)).toBe(iana.offset(ts));
        expect(memo.offset(ts + jitter)).toBe(iana.offset(ts + jitter));
        expect(memo.offset(ts)).toBe(iana.offset(ts));
      }),
      { numRuns: 2000 },
    );
  });

  it('gives the same local times as the plain zone on a spring-forward day', () => {
    const start = DateTime.fromISO('2026-03-08T00:00:00', { zone: 'America/Chicago' });
    for (let m = 0; m < 24 * 60; m += 7) {
      const t = start.plus({ minutes: m });
      expect(t.setZone(zoneNamed('America/Chicago')).toISO()).toBe(t.setZone('America/Chicago').toISO());
    }
  });

  it('knows valid zone names', () => {
    expect(isValidZone('America/Chicago')).toBe(true);
    expect(isValidZone('Mars/Olympus_Mons')).toBe(false);
  });
});
