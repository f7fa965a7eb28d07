/**
 * Bounds how many items (wake-ups, emails) a process works on at once, whatever the jobs that
 * carry them hold: BullMQ's concurrency counts jobs, and a job may carry one item or a thousand.
 * Waiters are served in order, so a job of many items is not passed over for ever by small ones.
 */
export class ItemGate {
  private inUse = 0;
  private readonly waiting: { n: number; go: () => void }[] = [];

  constructor(private readonly capacity: number) {}

  /** Waits until `n` items fit (more than the capacity waits for all of it), and returns how many were taken. */
  async acquire(n: number): Promise<number> {
    const take = Math.max(1, Math.min(n, this.capacity));
    if (this.waiting.length === 0 && this.inUse + take <= this.capacity) {
      this.inUse += take;
      return take;
    }
    await new Promise<void>((go) => this.waiting.push({ n: take, go }));
    return take;
  }

  release(n: number): void {
    this.inUse -= n;
    while (this.waiting.length > 0 && this.inUse + this.waiting[0]!.n <= this.capacity) {
      const next = this.waiting.shift()!;
      this.inUse += next.n;
      next.go();
    }
  }

  /** Runs `fn` over every item, at most the capacity at a time (a job larger than that in slices). */
  async each<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
    const out: R[] = [];
    for (let i = 0; i < items.length; i += this.capacity) {
      const slice = items.slice(i, i + this.capacity);
      out.push(...(await this.with(slice.length, () => Promise.all(slice.map(fn)))));
    }
    return out;
  }

  /** Runs `fn` holding room for `n` items. */
  async with<T>(n: number, fn: () => Promise<T>): Promise<T> {
    const taken = await this.acquire(n);
    try {
      return await fn();
    } finally {
      this.release(taken);
    }
  }
}
