/**
 * Whether the mail transport can be reached, as sends (and probes) find out, told to the operator
 * in as few lines as possible: one warning when it goes down, repeated at most once a minute while
 * it stays down, one info line when it comes back. The state is handed to `persist` (the engine
 * stores it in Postgres for `nurture stats` and the readiness check) on every change and at most
 * every `persistEveryMs` otherwise, so a busy sender does not write a row per message.
 */
import type { TransportObservation } from './mail-sender.js';

export interface TransportState {
  state: 'up' | 'down';
  /** The destination, and what went wrong when down. */
  detail: string;
  since: Date;
  checkedAt: Date;
}

/** What the monitor needs of a logger; pino's satisfies it. */
export interface HealthLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface TransportMonitorOptions {
  /** Names the destination in every line, without credentials (MailSender.describe()). */
  where: string;
  log: HealthLog;
  persist?: (state: TransportState) => Promise<void>;
  now?: () => Date;
  warnEveryMs?: number;
  persistEveryMs?: number;
}

export const WARN_EVERY_MS = 60_000;
export const PERSIST_EVERY_MS = 30_000;

export class TransportMonitor {
  private current: TransportState | undefined;
  private lastWarnAt = Number.NEGATIVE_INFINITY;
  private lastPersistAt = Number.NEGATIVE_INFINITY;
  private lastPersistFailureLogAt = Number.NEGATIVE_INFINITY;
  private writes: Promise<void> = Promise.resolve();
  private readonly now: () => Date;
  private readonly warnEveryMs: number;
  private readonly persistEveryMs: number;

  constructor(private readonly o: TransportMonitorOptions) {
    this.now = o.now ?? (() => new Date());
    this.warnEveryMs = o.warnEveryMs ?? WARN_EVERY_MS;
    this.persistEveryMs = o.persistEveryMs ?? PERSIST_EVERY_MS;
  }

  /** The last state seen by this process; undefined before the first send or probe. */
  state(): TransportState | undefined {
    return this.current;
  }

  observe(seen: TransportObservation): void {
    const at = this.now();
    const state = seen.reachable ? 'up' : 'down';
    const detail = seen.reachable ? this.o.where : `${this.o.where}: ${seen.reason}`;
    const previous = this.current;
    const changed = previous?.state !== state;
    this.current = { state, detail, since: changed ? at : previous.since, checkedAt: at };

    if (state === 'down' && (changed || at.getTime() - this.lastWarnAt >= this.warnEveryMs)) {
      this.lastWarnAt = at.getTime();
      const downFor = changed ? undefined : Math.round((at.getTime() - this.current.since.getTime()) / 1000);
      this.o.log.warn(
        { mail: this.o.where, reason: seen.reachable ? undefined : seen.reason, ...(downFor !== undefined ? { downForSeconds: downFor } : {}) },
        changed
          ? `mail server unreachable: ${detail}; emails wait and are retried`
          : `mail server still unreachable: ${detail} (down for ${downFor} s); emails wait and are retried`,
      );
    }
    if (state === 'up' && previous?.state === 'down') {
      const downFor = Math.round((at.getTime() - previous.since.getTime()) / 1000);
      this.o.log.info({ mail: this.o.where, downForSeconds: downFor }, `mail server reachable again: ${this.o.where} (was down for ${downFor} s)`);
    }
    if (changed || at.getTime() - this.lastPersistAt >= this.persistEveryMs) {
      this.lastPersistAt = at.getTime();
      this.write(this.current);
    }
  }

  /** Resolves once every state handed to `persist` so far is written (or failed and was logged). */
  flush(): Promise<void> {
    return this.writes;
  }

  // In order, one at a time: an older state must never overwrite a newer one.
  private write(state: TransportState): void {
    const persist = this.o.persist;
    if (!persist) return;
    const snapshot = { ...state };
    this.writes = this.writes.then(() =>
      persist(snapshot).catch((err: unknown) => {
        const at = this.now().getTime();
        // A database outage is reported where it happens; here once a minute is enough.
        if (at - this.lastPersistFailureLogAt >= this.warnEveryMs) {
          this.lastPersistFailureLogAt = at;
          this.o.log.warn({ err: (err as Error)?.message ?? String(err) }, 'could not record the mail transport state');
        }
        // Tried again at the next change or after the interval: a database that is down is not hammered.
      }),
    );
  }
}
