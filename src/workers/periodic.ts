/**
 * A background round every `intervalMs`, never two at once: the next round is timed from the
 * end of the last, so a slow round (a database that hangs) delays the next instead of piling
 * rounds up. `run` must catch its own failures (a RoundGuard counts and logs them); one that
 * escapes is swallowed here so the loop survives it.
 */
export class Periodic {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly run: () => Promise<unknown>,
    private readonly intervalMs: number,
    /** Wait for the first round (default: run it at once). */
    private readonly firstAfterMs = 0,
  ) {}

  start(): void {
    const loop = (): void => {
      this.running = this.run()
        .then(() => undefined, () => undefined)
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(loop, this.intervalMs);
        });
    };
    this.timer = setTimeout(loop, this.firstAfterMs);
  }

  /** Stops the loop and waits for a round in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
