import type { DateTime } from 'luxon';
import { assignTasks } from '../app/assign-tasks.js';
import type { AppContext } from '../app/context.js';
import { escalateTasks } from '../app/escalate-tasks.js';
import type { Metrics } from '../app/metrics.js';
import type { MailSender } from '../templates/mail-sender.js';
import { Periodic } from './periodic.js';

/** How often tasks are assigned and SLA timers swept: a lead waits about this long at most for a rep. */
export const STAFF_SWEEP_MS = 1_000;

/**
 * The staff sweep: assigns new tasks (team.yaml's rules) and fires the SLA escalation timers
 * that are due, every second, in every process that sweeps. Both use cases lock what they work
 * on with SKIP LOCKED, so processes share the work and a timer fires once; the timers live in
 * Postgres, so a restart (or a crash) delays them by at most a round, never loses or repeats one.
 */
export class StaffSweep {
  private loop: Periodic | undefined;
  private failing = false;

  constructor(
    private readonly ctx: AppContext,
    private readonly opts: { mail: MailSender; clock: () => DateTime; metrics?: Metrics | undefined; intervalMs?: number },
  ) {}

  start(): void {
    this.loop = new Periodic(() => this.round(), this.opts.intervalMs ?? STAFF_SWEEP_MS);
    this.loop.start();
  }

  /** One round, now: assign, then escalate (with one clock reading for both). */
  async round(): Promise<void> {
    const log = this.ctx.log;
    try {
      const now = this.opts.clock();
      const a = await assignTasks(this.ctx, { now, metrics: this.opts.metrics });
      const e = await escalateTasks(this.ctx, { now, mail: this.opts.mail, metrics: this.opts.metrics });
      if (a.assigned + a.queued + a.unassigned > 0) log.info(a, 'tasks assigned');
      if (e.reminded + e.reassigned + e.managerNotified + e.breached > 0) log.info(e, 'SLA escalations fired');
      if (this.failing) log.info('the staff sweep works again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) log.warn({ err: (err as Error).message }, 'staff sweep failed; trying again');
      this.failing = true;
    }
  }

  async stop(): Promise<void> {
    await this.loop?.stop();
  }
}
