/** How the SMTP threads of one process divide its connections and its rate limit. */

/**
 * `total` split into `parts` shares that differ by at most one and add up to `total`, largest
 * first: 5 connections over 2 threads are 3 and 2.
 */
export function shares(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

/**
 * Which thread takes the next message: the one with the fewest in flight for its weight (its
 * share of the rate when a rate is set, else of the connections; the first on a tie), so a thread
 * with 2 connections is not given as many as one with 3 and left to hold up the burst.
 */
export function leastLoaded(threads: readonly { inFlight: number; weight: number }[]): number {
  let best = 0;
  for (let i = 1; i < threads.length; i++) {
    const t = threads[i]!;
    const b = threads[best]!;
    if (t.inFlight * b.weight < b.inFlight * t.weight) best = i;
  }
  return best;
}
