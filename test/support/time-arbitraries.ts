import fc from 'fast-check';
import { DateTime } from 'luxon';

/** fast-check generators shared by the property tests of the time rules and of the whole core. */

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
export const RANGE_START = Date.UTC(2026, 0, 1);
export const RANGE_END = Date.UTC(2028, 11, 31);

/** Per zone, midnight UTC of each day in the range whose offset differs 24 h later: a DST change is near. */
export function dstChangeDays(zones: readonly string[]): Record<string, number[]> {
  return Object.fromEntries(
    zones.map((zone) => {
      const days: number[] = [];
      for (let t = RANGE_START; t < RANGE_END; t += DAY) {
        if (DateTime.fromMillis(t, { zone }).offset !== DateTime.fromMillis(t + DAY, { zone }).offset) days.push(t);
      }
      return [zone, days];
    }),
  );
}

/** An instant in the range: anywhere, or within a day and a half of one of the zone's DST changes. */
export function instantNear(changes: readonly number[]): { uniform: fc.Arbitrary<number>; nearChange: fc.Arbitrary<number> } {
  const uniform = fc.integer({ min: RANGE_START, max: RANGE_END });
  const nearChange =
    changes.length > 0
      ? fc
          .tuple(fc.constantFrom(...changes), fc.integer({ min: -36 * 60, max: 36 * 60 }), fc.integer({ min: 0, max: 59_999 }))
          .map(([t, minutes, ms]) => t + minutes * MINUTE + ms)
      : uniform;
  return { uniform, nearChange };
}

/** "HH:MM": the awkward ones around DST changes and day edges, or any. */
export function timeOfDayArb(awkward: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(...awkward),
    fc.tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 })).map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`),
  );
}
