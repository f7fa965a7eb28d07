import type { Queue } from 'bullmq';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EventOutcome, Metrics, SendResult, BackgroundLoop } from '../app/metrics.js';
import { eventTypeLabel } from '../app/metrics.js';
import type { Logger } from '../logger.js';
import type { ItemGate } from './item-gate.js';

/** What the in-flight gauges read of a gate. */
type GateView = Pick<ItemGate, 'inFlight' | 'allowed'>;

/** Job states a queue's depth is reported in (BullMQ's names). */
const JOB_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed'] as const;

/**
 * The Metrics port on prom-client, with a registry of its own (not prom-client's global one), so
 * two engines in one test process do not share counters. Figures that live in Redis or Postgres
 * (queue depths, quarantined enrollments) are read when Prometheus scrapes, not on a timer.
 */
export class PrometheusMetrics implements Metrics {
  readonly registry = new Registry();
  private readonly events: Counter<'type' | 'outcome'>;
  private readonly wakeLag: Histogram;
  private readonly wakeUps: Counter<'outcome'>;
  private readonly sends: Counter<'result'>;
  private readonly inDoubt: Counter;
  private readonly sweepDuration: Histogram;
  private readonly sweepOffered: Counter<'kind'>;
  private readonly errors: Counter<'service'>;
  private readonly assignments: Counter<'outcome'>;
  private readonly escalations: Counter<'action'>;
  private readonly backgroundFailures: Counter<'loop'>;
  private readonly breaches: Counter;

  constructor(
    private readonly knownTypes: ReadonlySet<string>,
    private readonly log: Logger,
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'nurture_' });
    this.events = new Counter({ name: 'nurture_events_total', help: 'Event jobs handled, by event type (known types, else "other") and outcome', labelNames: ['type', 'outcome'], registers });
    this.wakeLag = new Histogram({
      name: 'nurture_wake_up_lag_seconds',
      help: 'Time from when a wake-up was due to when it ran',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers,
    });
    this.wakeUps = new Counter({ name: 'nurture_wake_ups_total', help: 'Wake-up jobs run, by outcome', labelNames: ['outcome'], registers });
    this.sends = new Counter({ name: 'nurture_sends_total', help: 'Send jobs, by result (retry: the transport refused for now)', labelNames: ['result'], registers });
    this.inDoubt = new Counter({ name: 'nurture_sends_in_doubt_total', help: 'Messages resent after an attempt was cut off mid-send (the recipient may have two)', registers });
    this.sweepDuration = new Histogram({ name: 'nurture_sweep_duration_seconds', help: 'Time one sweep took (sweeps skipped for another process are not counted)', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers });
    this.sweepOffered = new Counter({ name: 'nurture_sweep_offered_total', help: 'Items the sweeper offered to the queues, by kind', labelNames: ['kind'], registers });
    this.errors = new Counter({ name: 'nurture_service_errors_total', help: 'Failures seen talking to a service (smtp, database, redis)', labelNames: ['service'], registers });
    // Zeros from the start: a rate() over a series that appears only on the first failure misses it.
    for (const service of ['smtp', 'database', 'redis']) this.errors.inc({ service }, 0);
    this.inDoubt.inc(0);
    this.assignments = new Counter({ name: 'nurture_task_assignments_total', help: 'Staff task assignment decisions, by outcome (assigned to a rep, queued for a team, unassigned)', labelNames: ['outcome'], registers });
    this.escalations = new Counter({ name: 'nurture_task_escalations_total', help: 'SLA escalation timers fired, by action (remind, reassign, notify_manager, breach)', labelNames: ['action'], registers });
    this.backgroundFailures = new Counter({ name: 'nurture_background_failures_total', help: 'failed rounds of background loops (staff_assign, staff_escalate, staff_digests, partitions, consent_expiry, score_sweep, sweeper, intake_drain, report_rollups); each tries again next round', labelNames: ['loop'], registers });
    this.breaches = new Counter({ name: 'nurture_task_sla_breaches_total', help: 'Tasks whose speed-to-lead deadline passed without a call attempt', registers });
    this.breaches.inc(0);
  }

  taskAssignment(outcome: 'assigned' | 'queued' | 'unassigned'): void {
    this.assignments.inc({ outcome });
  }

  taskEscalation(action: 'remind' | 'reassign' | 'notify_manager' | 'breach'): void {
    this.escalations.inc({ action });
    if (action === 'breach') this.breaches.inc();
  }

  backgroundFailure(loop: BackgroundLoop): void {
    this.backgroundFailures.inc({ loop });
  }

  event(type: string, outcome: EventOutcome): void {
    this.events.inc({ type: eventTypeLabel(type, this.knownTypes), outcome });
  }

  wakeUp(lagSeconds: number, outcome: string): void {
    this.wakeLag.observe(lagSeconds);
    this.wakeUps.inc({ outcome });
  }

  send(result: SendResult, o: { inDoubt?: boolean } = {}): void {
    this.sends.inc({ result });
    if (o.inDoubt) this.inDoubt.inc();
  }

  sweep(durationSeconds: number, offered: { wakes: number; sends: number }): void {
    this.sweepDuration.observe(durationSeconds);
    this.sweepOffered.inc({ kind: 'wake' }, offered.wakes);
    this.sweepOffered.inc({ kind: 'send' }, offered.sends);
  }

  serviceError(service: 'smtp' | 'database' | 'redis'): void {
    this.errors.inc({ service });
  }

  /** Queue depths by state, and the age of the oldest job ready to run, read from Redis on scrape. */
  collectQueues(queues: readonly Queue[]): void {
    const log = this.log;
    const errors = this.errors;
    new Gauge({
      name: 'nurture_queue_jobs',
      help: 'Jobs in each queue, by state',
      labelNames: ['queue', 'state'],
      registers: [this.registry],
      async collect() {
        for (const q of queues) {
          try {
            const counts = await q.getJobCounts(...JOB_STATES);
            for (const state of JOB_STATES) this.set({ queue: q.name, state }, counts[state] ?? 0);
          } catch (err) {
            errors.inc({ service: 'redis' });
            log.warn({ err: (err as Error).message, queue: q.name }, 'metrics: could not read queue depth');
          }
        }
      },
    });
    new Gauge({
      name: 'nurture_queue_oldest_waiting_seconds',
      help: 'How long the oldest job ready to run has been waiting for a worker (0 when none waits)',
      labelNames: ['queue'],
      registers: [this.registry],
      async collect() {
        const now = Date.now();
        for (const q of queues) {
          try {
            const [oldest] = await q.getJobs(['wait'], 0, 0, true);
            // A delayed job became ready when its delay ran out, not when it was added.
            const ready = oldest ? oldest.timestamp + (oldest.delay ?? 0) : now;
            this.set({ queue: q.name }, Math.max(0, now - ready) / 1000);
          } catch (err) {
            errors.inc({ service: 'redis' });
            log.warn({ err: (err as Error).message, queue: q.name }, 'metrics: could not read queue age');
          }
        }
      },
    });
  }

  /**
   * Gauges set from one count read from the database on scrape. The gauges of one scrape share a
   * read (prom-client collects them together); a read that fails leaves them as they were, and is
   * counted as a database error and logged.
   */
  private databaseGauges<T>(what: string, count: () => Promise<T>, gauges: { name: string; help: string; value: (c: T) => number }[]): void {
    let reading: Promise<T | undefined> | undefined;
    const read = (): Promise<T | undefined> =>
      (reading ??= count()
        .catch((err: Error) => {
          this.errors.inc({ service: 'database' });
          this.log.warn({ err: err.message }, `metrics: could not count ${what}`);
          return undefined;
        })
        .finally(() => (reading = undefined)));
    for (const g of gauges) {
      new Gauge({
        name: g.name,
        help: g.help,
        registers: [this.registry],
        async collect() {
          const c = await read();
          if (c !== undefined) this.set(g.value(c));
        },
      });
    }
  }

  /** Work set aside for an operator (`nurture enrollments stuck`), read from the database on scrape. */
  collectStuck(count: () => Promise<{ enrollments: number; sends: number }>): void {
    this.databaseGauges('stuck work', count, [
      { name: 'nurture_quarantined_enrollments', help: 'Active enrollments whose wake-up failed too often and waits for an operator', value: (c) => c.enrollments },
      { name: 'nurture_failed_sends', help: 'Emails that failed for good (nurture enrollments stuck)', value: (c) => c.sends },
    ]);
  }

  /**
   * Wake-ups and emails this process is working on, and how many it may: an operator sees a
   * burst fill the wake-ups' room and the emails' room drop to a quarter (work-priority.ts).
   */
  collectInFlight(gates: { wake?: GateView; send?: GateView }): void {
    const kinds = Object.entries(gates).filter((e): e is [string, GateView] => e[1] !== undefined);
    const perKind = (name: string, help: string, value: (g: GateView) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['kind'],
        registers: [this.registry],
        collect() {
          for (const [kind, g] of kinds) this.set({ kind }, value(g));
        },
      });
    perKind('nurture_in_flight_items', 'Wake-ups and emails this process is working on now, by kind', (g) => g.inFlight);
    perKind(
      'nurture_in_flight_allowed',
      'How many wake-ups and emails this process may work on at once, by kind: NURTURE_WAKE_CONCURRENCY and NURTURE_SEND_CONCURRENCY, the emails a quarter of theirs while the wake-ups are backed up',
      (g) => g.allowed,
    );
  }

  /** The report rollups' backlog (report_pending), read from the database on scrape. */
  collectReportBacklog(count: () => Promise<number>): void {
    this.databaseGauges('the report rollup backlog', count, [
      {
        name: 'nurture_report_rollup_backlog',
        help: 'Contact names waiting for the report rollups catch-up (runs every 5 s and before each report); one that keeps growing means the catch-up falls behind or fails',
        value: (n) => n,
      },
    ]);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
