import { IANAZone } from 'luxon';

const known = new Map<string, boolean>();

/**
 * IANAZone.isValidZone builds an Intl.DateTimeFormat on every call, which showed up as the top
 * cost of parsing events; the answer for a name never changes within a process.
 */
export function isValidZone(name: string): boolean {
  let ok = known.get(name);
  if (ok === undefined) {
    ok = IANAZone.isValidZone(name);
    if (known.size < 10_000) known.set(name, ok);
  }
  return ok;
}
