import { IANAZone, Zone } from 'luxon';
import { closestNames } from './suggest.js';

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

// ---- names people write ---------------------------------------------------------------------

/**
 * Abbreviations and POSIX-style names that Intl accepts but that are not the place a marketer
 * means: "EST" is a fixed UTC-5 (no daylight saving time), "CET" no city's rules, and "EST5EDT" a
 * rule, not a location. What each most likely stands for.
 */
const ABBREVIATIONS: Readonly<Record<string, readonly string[]>> = {
  EST: ['America/New_York'], EDT: ['America/New_York'], EST5EDT: ['America/New_York'],
  CST: ['America/Chicago'], CDT: ['America/Chicago'], CST6CDT: ['America/Chicago'],
  MST: ['America/Denver', 'America/Phoenix'], MDT: ['America/Denver'], MST7MDT: ['America/Denver'],
  PST: ['America/Los_Angeles'], PDT: ['America/Los_Angeles'], PST8PDT: ['America/Los_Angeles'],
  AKST: ['America/Anchorage'], AKDT: ['America/Anchorage'], HST: ['Pacific/Honolulu'],
  BST: ['Europe/London'], WET: ['Europe/Lisbon'], WEST: ['Europe/Lisbon'],
  CET: ['Europe/Paris', 'Europe/Berlin'], CEST: ['Europe/Paris', 'Europe/Berlin'], MET: ['Europe/Paris', 'Europe/Berlin'],
  EET: ['Europe/Athens', 'Europe/Helsinki'], EEST: ['Europe/Athens', 'Europe/Helsinki'], MSK: ['Europe/Moscow'],
  IST: ['Asia/Kolkata'], JST: ['Asia/Tokyo'], KST: ['Asia/Seoul'],
  AEST: ['Australia/Sydney'], AEDT: ['Australia/Sydney'], ACST: ['Australia/Adelaide'], AWST: ['Australia/Perth'],
  NZST: ['Pacific/Auckland'], NZDT: ['Pacific/Auckland'],
};

/** Current tz names that Node's ICU still lists under their old name (Asia/Calcutta...). */
const RENAMED = ['Asia/Kolkata', 'Europe/Kyiv', 'America/Argentina/Buenos_Aires', 'Asia/Ho_Chi_Minh', 'Asia/Kathmandu', 'Asia/Yangon', 'Atlantic/Faroe', 'America/Nuuk', 'Pacific/Kanton'];

let zoneList: string[] | undefined;
/** The zone names to suggest from: every zone Intl knows, by name, plus UTC. */
function knownZones(): string[] {
  zoneList ??= [...new Set(['UTC', ...Intl.supportedValuesOf('timeZone'), ...RENAMED])].filter(isValidZone);
  return zoneList;
}

function canonical(name: string): string {
  return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
}

function quoteList(names: readonly string[]): string {
  const quoted = names.map((n) => `"${n}"`);
  const last = quoted.pop()!;
  return quoted.length > 0 ? `${quoted.join(', ')} or ${last}` : last;
}

/** Zones whose name, or whose city, is a likely typo of `name` ("Europe/Pari", "Chicago", "New York"). */
function nearestZones(name: string): string[] {
  const wanted = name.trim().replace(/\s+/g, '_');
  const zones = knownZones();
  const full = closestNames(wanted, zones, 3);
  if (full.length > 0 || wanted.includes('/')) return full;
  const cities = zones.map((z) => z.slice(z.lastIndexOf('/') + 1));
  return closestNames(wanted, cities, 3).map((city) => zones[cities.indexOf(city)]!);
}

/**
 * Why `name` is not a time zone a sequence should use, naming it and the zones probably meant;
 * null when it is one. Stricter than isValidZone: Intl also takes "america/chicago", "EST" and
 * "EST5EDT", which work by accident or mean something else than the marketer thinks.
 */
export function zoneProblem(name: string): string | null {
  const abbreviation = ABBREVIATIONS[name.toUpperCase()];
  if (abbreviation || /^[A-Za-z]{3,5}[+-]?\d{1,2}(?:[A-Za-z]{3,5})?$/.test(name)) {
    const hint = abbreviation ? `did you mean ${quoteList(abbreviation)}?` : 'write a place, e.g. "America/New_York"';
    return `"${name}" is not an IANA location: it is an abbreviation or a POSIX rule; ${hint}`;
  }
  if (isValidZone(name)) {
    // Only a wrong name pays for the list of zones: startup validates every sequence's zone.
    const canon = canonical(name);
    const badCase = name !== canon && (name.toLowerCase() === canon.toLowerCase() || name.split('/').some((part) => /^[a-z]/.test(part)));
    if (!badCase) return null;
    const sameLetters = knownZones().find((z) => z.toLowerCase() === name.toLowerCase());
    return `"${name}" is not an IANA time zone: names are case-sensitive; did you mean "${sameLetters ?? canon}"?`;
  }
  const near = nearestZones(name);
  return near.length > 0
    ? `"${name}" is not an IANA time zone: did you mean ${quoteList(near)}?`
    : `"${name}" is not an IANA time zone (e.g. "America/Chicago", "Europe/London")`;
}

// ---- offsets ----------------------------------------------------------------------------------

const BUCKET_MS = 15 * 60 * 1000;
const MAX_BUCKETS = 50_000;

/**
 * An IANA zone whose UTC offsets are remembered per 15-minute span. Luxon asks Intl for the
 * offset every time a local time is computed, several times per event; that was the engine's
 * largest single cost. A span is remembered only when its two ends have the same offset, so an
 * answer is never different from the zone's own (offsets change at most once in such a span).
 */
export class MemoZone extends Zone {
  private readonly spans = new Map<number, number>();

  constructor(private readonly inner: IANAZone) {
    super();
  }

  override get type(): string {
    return 'iana';
  }
  override get name(): string {
    return this.inner.name;
  }
  get ianaName(): string {
    return this.inner.name;
  }
  override get isUniversal(): boolean {
    return false;
  }
  override get isValid(): boolean {
    return this.inner.isValid;
  }
  override offsetName(ts: number, opts: { format?: 'short' | 'long'; locale?: string }): string | null {
    return this.inner.offsetName(ts, opts);
  }
  override formatOffset(ts: number, format: 'narrow' | 'short' | 'techie'): string {
    return this.inner.formatOffset(ts, format);
  }
  override offset(ts: number): number {
    const span = Math.floor(ts / BUCKET_MS);
    const cached = this.spans.get(span);
    if (cached !== undefined) return cached;
    const start = this.inner.offset(span * BUCKET_MS);
    const end = this.inner.offset(span * BUCKET_MS + BUCKET_MS - 1);
    if (start !== end) return this.inner.offset(ts);
    if (this.spans.size >= MAX_BUCKETS) this.spans.clear();
    this.spans.set(span, start);
    return start;
  }
  override equals(other: Zone): boolean {
    // Only itself: a DateTime in the plain IANAZone must be converted to get the memo.
    return other === this;
  }
}

const zones = new Map<string, MemoZone>();

/** The shared memoising zone for an IANA name (validate the name first: see isValidZone). */
export function zoneNamed(name: string): Zone {
  let z = zones.get(name);
  if (!z) {
    z = new MemoZone(IANAZone.create(name));
    zones.set(name, z);
  }
  return z;
}
