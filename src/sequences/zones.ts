import { IANAZone, Zone } from 'luxon';

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
