import { rm } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestEngine } from '../support/engine.js';
import { eventually, startTestEngine, testConfig, writeTemplates } from '../support/engine.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';
import type { TestSmtp } from '../support/smtp.js';
import { startTestSmtp } from '../support/smtp.js';

/**
 * What an operator sees of a running engine: Prometheus figures on /metrics (bounded labels, no
 * addresses), /metrics and /healthz on NURTURE_METRICS_PORT for a process that serves no HTTP,
 * and log lines of the wake-ups and sends an event caused that carry that event's id.
 */
const SEQ = `
id: obs
trigger: { event: opt_in }
steps:
  - email: welcome
  - wait: 1 second
  - email: guide
`;

/** A logger that keeps every line, to read what the engine logged. */
function memoryLogger(): { log: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

/** The value of one series in Prometheus's text format, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('observability', () => {
  let store: TestStore;
  let smtp: TestSmtp;
  let templatesDir: string;
  let t: TestEngine;
  let logs: ReturnType<typeof memoryLogger>;

  beforeAll(async () => {
    store = await createTestStore('postgres');
    smtp = await startTestSmtp();
    templatesDir = await writeTemplates();
    logs = memoryLogger();
    t = await startTestEngine({ store, sequences: [SEQ], templatesDir, http: true, log: logs.log, config: testConfig({ SMTP_URL: smtp.url }) });
  });
  afterAll(async () => {
    await t?.stop();
    await smtp?.close();
    await store?.cleanup();
    if (templatesDir) await rm(templatesDir, { recursive: true, force: true });
  });

  const scrape = async (): Promise<string> => {
    const res = await fetch(`${t.engine.http!.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    return res.text();
  };

  it('counts events by bounded type and outcome, sends by result, wake-up lag, sweeps and queue depths', async () => {
    const eventId = await t.emit({ type: 'opt_in', email: 'metrics-ann@example.com' });
    await t.emit({ type: 'customer.random-type-x1', email: 'metrics-bob@example.com' });
    await t.emitRaw({ type: 'opt_in', contact: { email: 'not an address' } });
    await eventually(async () => smtp.received.filter((m) => m.to === 'metrics-ann@example.com').length >= 2, 'both emails');

    const text = await eventually(async () => {
      const s = await scrape();
      return (sample(s, 'nurture_sends_total{result="sent"}') ?? 0) >= 2 && (sample(s, 'nurture_sweep_duration_seconds_count') ?? 0) > 0 ? s : undefined;
    }, 'two sends and a sweep counted');
    expect(sample(text, 'nurture_events_total{type="opt_in",outcome="applied"}')).toBe(1);
    // An unknown type gets no series of its own.
    expect(sample(text, 'nurture_events_total{type="other",outcome="applied"}')).toBe(1);
    expect(text).not.toContain('random-type-x1');
    expect(sample(text, 'nurture_events_total{type="opt_in",outcome="rejected"}')).toBe(1);
    expect(sample(text, 'nurture_wake_up_lag_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'nurture_wake_ups_total{outcome="advanced"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'nurture_sends_in_doubt_total')).toBe(0);
    expect(sample(text, 'nurture_service_errors_total{service="smtp"}')).toBe(0);
    expect(sample(text, 'nurture_quarantined_enrollments')).toBe(0);
    expect(sample(text, 'nurture_failed_sends')).toBe(0);
    // The opt-in named its contact for the report rollups' catch-up; whether the catch-up ran yet depends on the moment of the scrape.
    expect(sample(text, 'nurture_report_rollup_backlog')).toBeGreaterThanOrEqual(0);
    // Idle by now: nothing in flight, and the whole room allowed (the defaults).
    expect(sample(text, 'nurture_in_flight_allowed{kind="wake"}')).toBe(800);
    expect(sample(text, 'nurture_in_flight_allowed{kind="send"}')).toBe(400);
    expect(sample(text, 'nurture_in_flight_items{kind="send"}')).toBe(0);
    for (const q of ['nurture-events', 'nurture-wakes', 'nurture-sends']) {
      expect(sample(text, `nurture_queue_jobs{queue="${q}",state="waiting"}`)).toBeGreaterThanOrEqual(0);
      expect(sample(text, `nurture_queue_oldest_waiting_seconds{queue="${q}"}`)).toBeGreaterThanOrEqual(0);
    }
    // Counts only: no address, no event id, in any label.
    expect(text).not.toContain('@example.com');
    expect(text).not.toContain(eventId);
  });

  it('logs the wake-up and both sends an event caused with that event id as correlationId', async () => {
    const eventId = await t.emit({ type: 'opt_in', email: 'corr-cat@example.com' });
    await eventually(async () => smtp.received.filter((m) => m.to === 'corr-cat@example.com').length >= 2, 'both emails');
    const contact = await store.db.selectFrom('contacts').select('id').where('email', '=', 'corr-cat@example.com').executeTakeFirstOrThrow();
    const touches = await store.db.selectFrom('touches').select('id').where('contact_id', '=', contact.id).where('kind', '=', 'email').execute();
    expect(touches).toHaveLength(2);
    const enrollment = await store.db.selectFrom('enrollments').select('id').where('contact_id', '=', contact.id).executeTakeFirstOrThrow();
    const sent = await eventually(async () => {
      const ls = logs.lines.filter((l) => l.msg === 'email sent' && touches.some((x) => x.id === l.touchId));
      return ls.length === 2 ? ls : undefined;
    }, 'two "email sent" lines');
    expect(sent.map((l) => l.correlationId)).toEqual([eventId, eventId]);
    const woke = logs.lines.filter((l) => l.msg === 'wake-up ran' && l.enrollmentId === enrollment.id);
    expect(woke.length).toBeGreaterThanOrEqual(1);
    expect(woke.every((l) => l.correlationId === eventId)).toBe(true);
  });
});

describe('a worker process without HTTP', () => {
  let store: TestStore;
  let templatesDir: string;
  let t: TestEngine;

  beforeAll(async () => {
    store = await createTestStore('postgres');
    templatesDir = await writeTemplates();
    t = await startTestEngine({ store, sequences: [SEQ], templatesDir, config: testConfig({ NURTURE_METRICS_PORT: '0' }), workers: { events: true, wakes: false, sends: false } });
  });
  afterAll(async () => {
    await t?.stop();
    await store?.cleanup();
    if (templatesDir) await rm(templatesDir, { recursive: true, force: true });
  });

  it('serves /metrics, /healthz and /readyz on NURTURE_METRICS_PORT', async () => {
    const base = t.engine.metricsServer!.url;
    await t.emit({ type: 'opt_in', email: 'worker-dan@example.com' });
    const text = await eventually(async () => {
      const s = await (await fetch(`${base}/metrics`)).text();
      return sample(s, 'nurture_events_total{type="opt_in",outcome="applied"}') === 1 ? s : undefined;
    }, 'the event counted');
    expect(sample(text, 'nurture_queue_jobs{queue="nurture-events",state="active"}')).toBeGreaterThanOrEqual(0);
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });
});
