/** Handed to each run: a run says when it starts doing what must not be done twice (sending mail). */
export interface BatchRun {
  sideEffectsBegun(): void;
}

/**
 * Gathers items submitted by concurrent jobs into batches, so one database transaction serves
 * many events. A batch goes when it is full or `lingerMs` after its first item. If a batch
 * fails before any side effect, each of its items is tried alone, so one bad item fails only its
 * own job; one that fails after (`run.sideEffectsBegun()` called) fails every item's job as is,
 * since trying them again at once could repeat what was done (send an email twice).
 */
export class Batcher<I, O> {
  private pending: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly run: (items: I[], run: BatchRun) => Promise<O[]>,
    private readonly maxSize: number,
    private readonly lingerMs: number,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.maxSize) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.lingerMs);
    });
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length > 0) void this.runBatch(batch);
  }

  private async runBatch(batch: Batcher<I, O>['pending']): Promise<void> {
    let begun = false;
    try {
      const out = await this.run(
        batch.map((b) => b.item),
        { sideEffectsBegun: () => (begun = true) },
      );
      batch.forEach((b, i) => b.resolve(out[i]!));
    } catch (err) {
      if (batch.length === 1 || begun) {
        for (const b of batch) b.reject(err);
        return;
      }
      await Promise.all(batch.map((b) => this.runBatch([b])));
    }
  }
}
