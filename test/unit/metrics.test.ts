import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OTHER_EVENT_TYPE, eventTypeLabel, knownEventTypes, lagSeconds } from '../../src/app/metrics.js';
import { correlated, emptyAfterCommit } from '../../src/engine/engine-deps.js';
import { createLogger } from '../../src/logger.js';
import { ItemGate } from '../../src/workers/item-gate.js';
import { sendRoomBeside } from '../../src/workers/work-priority.js';
import { PrometheusMetrics } from '../../src/workers/prometheus-metrics.js';

describe('metric labels', () => {
  const known = knownEventTypes(['demo_booked']);

  it('names built-in and configured event types, and every other value "other"', () => {
    expect(eventTypeLabel('opt_in', known)).toBe('opt_in');
    expect(eventTypeLabel('demo_booked', known)).toBe('demo_booked');
    expect(eventTypeLabel('x.customer-42', known)).toBe(OTHER_EVENT_TYPE);
    expect(eventTypeLabel(undefined, known)).toBe(OTHER_EVENT_TYPE);
  });

  it('keeps the set of labels bounded whatever producers send', () => {
    fc.assert(
      fc.property(fc.array(fc.anything()), (types) => {
        const labels = new Set(types.map((t) => eventTypeLabel(t, known)));
        for (const l of labels) expect(l === OTHER_EVENT_TYPE || known.has(l)).toBe(true);
      }),
    );
  });

  it('measures lag from the due time, never negative', () => {
    expect(lagSeconds(1_000, 3_500)).toBe(2.5);
    fc.assert(fc.property(fc.integer(), fc.integer(), (due, now) => lagSeconds(due, now) >= 0));
  });
});

describe('correlated follow-up work', () => {
  it('tags work with the id of its cause, keeping a tag it already has', () => {
    const at = new Date('2026-03-02T09:00:00Z');
    const after = { ...emptyAfterCommit(), sends: [{ touchId: 't1', at }, { touchId: 't2', at, correlationId: 'older' }], wakes: [{ enrollmentId: 'e1', version: 2, at }] };
    const tagged = correlated(after, 'evt-1');
    expect(tagged.sends.map((s) => s.correlationId)).toEqual(['evt-1', 'older']);
    expect(tagged.wakes[0]).toEqual({ enrollmentId: 'e1', version: 2, at, correlationId: 'evt-1' });
    expect(correlated(after, undefined)).toBe(after);
  });
});

describe('gauges read from the database on scrape', () => {
  it('share one read per scrape, and keep their value (counting an error) when a read fails', async () => {
    const metrics = new PrometheusMetrics(knownEventTypes([]), createLogger('silent'));
    let reads = 0;
    let fail = false;
    metrics.collectStuck(async () => {
      reads += 1;
      if (fail) throw new Error('database away');
      return { enrollments: 3, sends: 4 };
    });
    const first = (await metrics.render()).body;
    expect(reads).toBe(1);
    expect(first).toMatch(/^nurture_quarantined_enrollments 3$/m);
    expect(first).toMatch(/^nurture_failed_sends 4$/m);

    fail = true;
    const second = (await metrics.render()).body;
    expect(reads).toBe(2);
    expect(second).toMatch(/^nurture_quarantined_enrollments 3$/m);
    // Counted once for the scrape (both gauges shared the failed read). The counter is written out
    // before the gauges' reads end, so a scrape shows the failures of the scrapes before it.
    expect((await metrics.render()).body).toMatch(/^nurture_service_errors_total\{service="database"\} 1$/m);
    expect(reads).toBe(3);
  });
});

describe('work in flight', () => {
  it('says how many wake-ups and emails are in flight and allowed, the emails a quarter while wake-ups are backed up', async () => {
    const metrics = new PrometheusMetrics(knownEventTypes([]), createLogger('silent'));
    const wake = new ItemGate(2);
    const send = new ItemGate(400, sendRoomBeside(wake));
    metrics.collectInFlight({ wake, send });
    const body = async () => (await metrics.render()).body;
    expect(await body()).toMatch(/^nurture_in_flight_allowed\{kind="send"\} 400$/m);
    let done!: () => void;
    const held = wake.with(2, () => new Promise<void>((r) => (done = r)));
    await new Promise((r) => setImmediate(r));
    const during = await body();
    expect(during).toMatch(/^nurture_in_flight_items\{kind="wake"\} 2$/m);
    expect(during).toMatch(/^nurture_in_flight_allowed\{kind="wake"\} 2$/m);
    expect(during).toMatch(/^nurture_in_flight_allowed\{kind="send"\} 100$/m);
    expect(during).toMatch(/^nurture_in_flight_items\{kind="send"\} 0$/m);
    done();
    await held;
    expect(await body()).toMatch(/^nurture_in_flight_allowed\{kind="send"\} 400$/m);
  });
});
