/**
 * "Did you mean ...?" for names people type: fields, step kinds, event types, templates, time
 * zones. Pure, so the sequence loader and the template checker share it.
 */

/**
 * Known names close enough to `name` to be a typo of it: those at the smallest distance, at most
 * `limit`, in `known`'s order.
 */
export function closestNames(name: string, known: readonly string[], limit = 1): string[] {
  const threshold = Math.max(1, Math.floor(name.length / 3));
  const lower = name.toLowerCase();
  const scored = known.map((candidate) => ({ candidate, d: editDistance(lower, candidate.toLowerCase()) }));
  const best = Math.min(...scored.map((c) => c.d));
  if (best > threshold) return [];
  return scored.filter((c) => c.d === best).slice(0, limit).map((c) => c.candidate);
}

/** The known name closest to a misspelt one, when it is close enough to be a typo. */
export function closest(name: string, known: readonly string[]): string | undefined {
  return closestNames(name, known)[0];
}

/** `: did you mean "a"?`, `: did you mean "a" or "b"?`, or nothing without a suggestion. */
export function didYouMean(suggestions: readonly string[]): string {
  if (suggestions.length === 0) return '';
  const quoted = suggestions.map((s) => `"${s}"`);
  const last = quoted.pop()!;
  return `: did you mean ${quoted.length > 0 ? `${quoted.join(', ')} or ${last}` : last}?`;
}

/** Edits (insert, delete, replace, swap two neighbours) from a to b: "emial" is one from "email". */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
