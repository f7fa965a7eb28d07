/** "2 days 4 h", "3 h 20 min", "35 min", "40 s": a span as people say it, the same in every zone. */
export function humanDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < 60_000) return `${Math.round(abs / 1000)} s`;
  const minutes = Math.round(abs / 60_000);
  if (minutes < 60) return `${minutes} min`;
  if (minutes < 24 * 60) {
    const h = Math.floor(minutes / 60);
    const m = minutes % 60;
    return m ? `${h} h ${m} min` : `${h} h`;
  }
  const hours = Math.round(abs / 3_600_000);
  const d = Math.floor(hours / 24);
  const h = hours % 24;
  return `${d} day${d === 1 ? '' : 's'}${h ? ` ${h} h` : ''}`;
}

export function iso(d: Date | null | undefined): string | null {
  return d ? d.toISOString() : null;
}
