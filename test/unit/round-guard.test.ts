import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { BackgroundLoop, Metrics } from '../../src/app/metrics.js';
import { RoundGuard } from '../../src/workers/round-guard.js';

describe('RoundGuard: a background loop that keeps failing', () => {
  it('counts every failed round, and logs the first failure of each run and the recovery once', async () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
    const counted: BackgroundLoop[] = [];
    const metrics: Metrics = { event() {}, wakeUp() {}, send() {}, sweep() {}, serviceError() {}, backgroundFailure: (loop) => counted.push(loop) };
    const guard = new RoundGuard({ loop: 'consent_expiry', log, metrics, failed: 'expiry failed', recovered: 'expiry works again' });
    const fail = async () => {
      throw new Error('database away');
    };
    const work = async () => {};

    for (const round of [fail, fail, fail, work, work, fail, work]) await guard.run(round);

    expect(counted).toEqual(['consent_expiry', 'consent_expiry', 'consent_expiry', 'consent_expiry']);
    expect(lines.map((l) => [l['level'], l['msg'], l['err']])).toEqual([
      [40, 'expiry failed', 'database away'],
      [30, 'expiry works again', undefined],
      [40, 'expiry failed', 'database away'],
      [30, 'expiry works again', undefined],
    ]);
  });
});
