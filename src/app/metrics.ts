import { BUILT_IN_EVENTS } from '../sequences/schema.js';

/**
 * What the workers report for monitoring: a port, so the engine and its tests do not know which
 * metrics library (if any) listens. Built once per process (src/workers/runtime.ts) and handed
 * to the workers in their context. Every label is from a bounded set: never an email or an id.
 */
export interface Metrics {
  /** One event job, by its bounded type label (`eventTypeLabel`) and what became of it. */
  event(type: string, outcome: EventOutcome): void;
  /** A wake-up job ran this long after the moment it was due (seconds, 0 when on time), and its outcome. */
  wakeUp(lagSeconds: number, outcome: string): void;
  /** One send job's result; `inDoubt` when the message was resent after an attempt cut off mid-send. */
  send(result: SendResult, o?: { inDoubt?: boolean }): void;
  /** One sweep that ran (not skipped): how long it took and how much it offered. */
  sweep(durationSeconds: number, offered: { wakes: number; sends: number }): void;
  /** A failure of a service, counted where it is seen. */
  serviceError(service: 'smtp' | 'database' | 'redis'): void;
  /** A staff task's assignment decision (the staff sweep); optional so ports without staff work need not count it. */
  taskAssignment?(outcome: 'assigned' | 'queued' | 'unassigned'): void;
  /** An SLA escalation timer that fired, by action (`breach` counts breaches). */
  taskEscalation?(action: 'remind' | 'reassign' | 'notify_manager' | 'breach'): void;
  /** A round of a background loop that failed (it tries again next round; the log says it once). */
  backgroundFailure?(loop: BackgroundLoop): void;
}

export type BackgroundLoop = 'staff_assign' | 'staff_escalate' | 'staff_digests' | 'partitions' | 'consent_expiry' | 'score_sweep' | 'sweeper' | 'intake_drain' | 'report_rollups';

export type EventOutcome = 'applied' | 'duplicate' | 'rejected' | 'conflict' | 'failed' | 'retried';
/** `retry`: the transport refused for now and the job will try again. */
export type SendResult = 'sent' | 'skipped' | 'failed' | 'bounced' | 'retry';

export const OTHER_EVENT_TYPE = 'other';

/** The event types that get a label of their own: the built-in ones and those the settings name. */
export function knownEventTypes(extra: Iterable<string>): ReadonlySet<string> {
  return new Set<string>([...BUILT_IN_EVENTS, ...extra]);
}

/**
 * The label for an event's type: itself when known, `other` otherwise (also for a type that is
 * not a string, from a malformed event), so a producer sending random types cannot create
 * unbounded series.
 */
export function eventTypeLabel(type: unknown, known: ReadonlySet<string>): string {
  return typeof type === 'string' && known.has(type) ? type : OTHER_EVENT_TYPE;
}

/** Seconds between when a job was due and now, never negative. */
export function lagSeconds(dueMs: number, nowMs: number): number {
  return Math.max(0, nowMs - dueMs) / 1000;
}

/** The scrape side: the figures in Prometheus's text format, for GET /metrics. */
export interface MetricsExposition {
  render(): Promise<{ contentType: string; body: string }>;
}
