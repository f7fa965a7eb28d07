/**
 * Bounds how many items (wake-ups, emails) a process works on at once, whatever the jobs that
 * carry them hold: BullMQ's concurrency counts jobs, and a job may carry one item or a thousand.
 * Waiters are served in order, so a job of many items is not passed over for ever by small ones.
 * `room`, when given, lowers the capacity for a while (see work-priority.ts); items already in
 * flight finish, and the gate lets no more through until they fit under it.
 */
export class ItemGate {
  private inUse = 0;
  private readonly waiting: { n: number; go: () => void }[] = [];

  constructor(
    private readonly capacity: number,
    /** Given the fixed capacity, the capacity for now. */
    private readonly room?: (capacity: number) => number,
  ) {}

  /** Items being worked on now. */
  get inFlight(): number {
    return this.inUse;
  }

  /** How many items may be in flight now: the capacity, or less while `room` lowers it (at least 1). */
  get allowed(): number {
    return this.room ? Math.max(1, Math.min(this.capacity, this.room(this.capacity))) : this.capacity;
  }

  /** Whether work is held back here: every slot is taken, or a job waits for one. */
  backedUp(): boolean {
    return this.waiting.length > 0 || this.inUse >= this.capacity;
  }

  // A job may ask for more than the capacity now allows (taken while it was higher): it goes
  // through alone rather than wait for a capacity that may not come back.
  private fits(n: number): boolean {
    return this.inUse === 0 || this.inUse + n <= this.allowed;
  }

  /** Waits until `n` items fit (more than the capacity waits for all of it), and returns how many were taken. */
  async acquire(n: number): Promise<number> {
    const take = Math.max(1, Math.min(n, this.capacity));
    if (this.waiting.length === 0 && this.fits(take)) {
      this.inUse += take;
      return take;
    }
    await new Promise<void>((go) => this.waiting.push({ n: take, go }));
    return take;
  }

  release(n: number): void {
    this.inUse -= n;
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!.n)) {
      const next = this.waiting.shift()!;
      this.inUse += next.n;
      next.go();
    }
  }

  /** Runs `fn` over every item, at most the capacity at a time (a job larger than that in slices). */
  async each<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
    const out: R[] = [];
    for (let i = 0; i < items.length; ) {
      const slice = items.slice(i, i + this.allowed);
      i += slice.length;
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
