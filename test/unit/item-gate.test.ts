import { describe, expect, it } from 'vitest';
import { ItemGate } from '../../src/workers/item-gate.js';

/** The gate lets at most its capacity of items through, serves waiters in order, and lets an oversized job through alone. */
describe('ItemGate', () => {
  const tick = () => new Promise((r) => setImmediate(r));

  it('holds a job back until its items fit, in the order jobs came', async () => {
    const gate = new ItemGate(10);
    const order: string[] = [];
    const release: Record<string, () => void> = {};
    const job = (name: string, n: number) =>
      gate.with(n, async () => {
        order.push(name);
        await new Promise<void>((r) => (release[name] = r));
      });
    const a = job('a', 6);
    const b = job('b', 6); // does not fit beside a
    const c = job('c', 1); // would fit, but waits its turn behind b
    await tick();
    expect(order).toEqual(['a']);
    release.a!();
    await a;
    await tick();
    expect(order).toEqual(['a', 'b', 'c']);
    release.b!();
    release.c!();
    await Promise.all([b, c]);
  });

  it('runs a job larger than the capacity in slices of it', async () => {
    const gate = new ItemGate(3);
    let inFlight = 0;
    let most = 0;
    const out = await gate.each([1, 2, 3, 4, 5, 6, 7], async (n) => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
      return n * 10;
    });
    expect(out).toEqual([10, 20, 30, 40, 50, 60, 70]);
    expect(most).toBe(3);
  });

  it('lets a job larger than the capacity through alone', async () => {
    const gate = new ItemGate(4);
    const seen: string[] = [];
    let done!: () => void;
    const big = gate.with(100, async () => {
      seen.push('big');
      await new Promise<void>((r) => (done = r));
    });
    const small = gate.with(1, async () => void seen.push('small'));
    await tick();
    expect(seen).toEqual(['big']);
    done();
    await Promise.all([big, small]);
    expect(seen).toEqual(['big', 'small']);
  });
});
