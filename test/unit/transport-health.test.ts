import { describe, expect, it } from 'vitest';
import { TransportMonitor } from '../../src/templates/transport-health.js';
import type { TransportState } from '../../src/templates/transport-health.js';

/** A monitor with a clock the test moves, a log it reads and a store it inspects. */
function harness(o: { failPersist?: boolean } = {}) {
  let t = Date.parse('2026-12-01T10:00:00Z');
  const lines: { level: 'warn' | 'info'; msg: string; obj: object }[] = [];
  const written: TransportState[] = [];
  const monitor = new TransportMonitor({
    where: 'SMTP smtp://127.0.0.1:2525',
    now: () => new Date(t),
    log: {
      warn: (obj, msg) => lines.push({ level: 'warn', msg, obj }),
      info: (obj, msg) => lines.push({ level: 'info', msg, obj }),
    },
    persist: async (s) => {
      if (o.failPersist) throw new Error('database down');
      written.push(s);
    },
  });
  return {
    monitor,
    lines,
    written,
    advance: (ms: number) => (t += ms),
    down: () => monitor.observe({ reachable: false, reason: 'connect ECONNREFUSED 127.0.0.1:2525' }),
    up: () => monitor.observe({ reachable: true }),
  };
}

describe('mail transport monitor', () => {
  it('warns once when the server goes down, again at most once a minute, and says once when it is back', async () => {
    const h = harness();
    h.up();
    expect(h.lines).toEqual([]);
    for (let i = 0; i < 50; i++) {
      h.down(); // every failing send of a burst
      h.advance(1_000);
    }
    // 50 s of failures: one line
    expect(h.lines.map((l) => l.msg)).toEqual(['mail server unreachable: SMTP smtp://127.0.0.1:2525: connect ECONNREFUSED 127.0.0.1:2525; emails wait and are retried']);
    h.advance(10_000);
    h.down();
    h.down();
    expect(h.lines).toHaveLength(2);
    expect(h.lines[1]).toMatchObject({ level: 'warn', msg: expect.stringContaining('still unreachable'), obj: { downForSeconds: 60 } });
    h.advance(5_000);
    h.up();
    h.up();
    expect(h.lines).toHaveLength(3);
    expect(h.lines[2]).toMatchObject({ level: 'info', msg: 'mail server reachable again: SMTP smtp://127.0.0.1:2525 (was down for 65 s)' });
    expect(h.monitor.state()).toMatchObject({ state: 'up', since: new Date('2026-12-01T10:01:05Z') });
  });

  it('records every change at once, and the same state at most every 30 s, never per send', async () => {
    const h = harness();
    for (let i = 0; i < 100; i++) {
      h.up();
      h.advance(500); // 100 sends in 50 s
    }
    h.down();
    h.up();
    await h.monitor.flush();
    expect(h.written.map((w) => [w.state, w.checkedAt.toISOString()])).toEqual([
      ['up', '2026-12-01T10:00:00.000Z'],
      ['up', '2026-12-01T10:00:30.000Z'],
      ['down', '2026-12-01T10:00:50.000Z'],
      ['up', '2026-12-01T10:00:50.000Z'],
    ]);
    expect(h.written[1]?.since.toISOString()).toBe('2026-12-01T10:00:00.000Z');
  });

  it('logs a failure to record the state, once a minute, and keeps observing', async () => {
    const h = harness({ failPersist: true });
    h.down();
    h.advance(1_000);
    h.down();
    await h.monitor.flush();
    expect(h.lines.filter((l) => l.msg === 'could not record the mail transport state')).toHaveLength(1);
    expect(h.monitor.state()?.state).toBe('down');
  });
});
