import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jobsByTime, sendBatchJobs, wakeBatchJobs } from '../../src/workers/queues.js';

/**
 * Work is queued many items per job: a cohort due at one instant fills jobs to their size, an
 * item never runs before it is due (a job waits for its last item), and waits at most a quarter
 * of a second for the others of its job.
 */
describe('jobs of many items', () => {
  it('fills jobs to their size with what is due together, in time order', () => {
    const jobs = jobsByTime([5, 0, 0, 0, 0, 0, 0, 100, 1_000], (t) => t, 4);
    expect(jobs).toEqual([
      { items: [0, 0, 0, 0], delay: 0 },
      { items: [0, 0, 5, 100], delay: 100 },
      { items: [1_000], delay: 1_000 },
    ]);
  });

  it('never runs an item early, never holds one back more than 250 ms, and keeps every item once', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10_000 }), { maxLength: 300 }), fc.integer({ min: 1, max: 50 }), (delays, size) => {
        const jobs = jobsByTime(delays, (d) => d, size);
        expect(jobs.flatMap((j) => j.items).sort((a, b) => a - b)).toEqual([...delays].sort((a, b) => a - b));
        for (const j of jobs) {
          expect(j.items.length).toBeGreaterThan(0);
          expect(j.items.length).toBeLessThanOrEqual(size);
          for (const d of j.items) {
            expect(d).toBeLessThanOrEqual(j.delay);
            expect(j.delay - d).toBeLessThanOrEqual(250);
          }
        }
      }),
    );
  });

  it('carries each wake-up with its due time and each email without one, named for the markers', () => {
    const now = Date.parse('2026-12-02T09:00:00Z');
    const [w, ...more] = wakeBatchJobs(
      [
        { enrollmentId: 'e1', version: 3, at: new Date(now - 60_000), correlationId: 'evt-1' },
        { enrollmentId: 'e2', version: 0, at: new Date(now + 100) },
      ],
      now,
      10,
    );
    expect(more).toEqual([]);
    expect(w).toEqual({
      name: 'wakes',
      data: { wakeUps: [{ enrollmentId: 'e1', version: 3, due: now - 60_000, correlationId: 'evt-1' }, { enrollmentId: 'e2', version: 0, due: now + 100 }] },
      opts: { delay: 100 },
      members: ['e1-v3', 'e2-v0'],
    });
    const sends = sendBatchJobs([{ touchId: 't1', at: new Date(now + 5_000) }, { touchId: 't2' }, { touchId: 't3', correlationId: undefined }], now, 2);
    expect(sends).toEqual([
      { name: 'sends', data: { sends: [{ touchId: 't2' }, { touchId: 't3' }] }, opts: { delay: 0 }, members: ['t2', 't3'] },
      { name: 'sends', data: { sends: [{ touchId: 't1' }] }, opts: { delay: 5_000 }, members: ['t1'] },
    ]);
  });
});
