import { describe, expect, it } from 'vitest';
import { Batcher } from '../../src/workers/batcher.js';

describe('Batcher', () => {
  it('serves concurrent submissions with one run, results in order', async () => {
    const runs: number[][] = [];
    const b = new Batcher<number, number>(async (xs) => {
      runs.push(xs);
      return xs.map((x) => x * 10);
    }, 10, 5);
    const out = await Promise.all([1, 2, 3].map((x) => b.submit(x)));
    expect(out).toEqual([10, 20, 30]);
    expect(runs).toEqual([[1, 2, 3]]);
  });

  it('starts a batch as soon as it is full', async () => {
    const runs: number[][] = [];
    const b = new Batcher<number, number>(async (xs) => {
      runs.push(xs);
      return xs;
    }, 2, 1_000_000);
    await Promise.all([1, 2, 3, 4].map((x) => b.submit(x)));
    expect(runs).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it('isolates a failing item: the others still succeed, only its own submission fails', async () => {
    const b = new Batcher<number, number>(async (xs) => {
      if (xs.includes(13)) throw new Error(`unlucky ${xs.join(',')}`);
      return xs;
    }, 10, 1);
    const results = await Promise.allSettled([1, 13, 2].map((x) => b.submit(x)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason.message).toBe('unlucky 13');
  });

  it('does not try the items alone when the batch fails after its side effects began: each fails once, as is', async () => {
    const runs: number[][] = [];
    const b = new Batcher<number, number>(async (xs, run) => {
      runs.push(xs);
      run.sideEffectsBegun();
      throw new Error('after sending');
    }, 10, 1);
    const results = await Promise.allSettled([1, 2, 3].map((x) => b.submit(x)));
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'fulfilled'))).toEqual(['after sending', 'after sending', 'after sending']);
    expect(runs).toEqual([[1, 2, 3]]);
  });
});
