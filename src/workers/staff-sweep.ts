import type { DateTime } from 'luxon';
import { assignTasks } from '../app/assign-tasks.js';
import type { AppContext } from '../app/context.js';
import { escalateTasks } from '../app/escalate-tasks.js';
import type { Metrics } from '../app/metrics.js';
import type { MailSender } from '../templates/mail-sender.js';
import { Periodic } from './periodic.js';
import { RoundGuard } from './round-guard.js';

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
  private readonly guards: { assign: RoundGuard; escalate: RoundGuard };

  constructor(
    private readonly ctx: AppContext,
    private readonly opts: { mail: MailSender; clock: () => DateTime; metrics?: Metrics | undefined; intervalMs?: number },
  ) {
    const guard = (loop: 'staff_assign' | 'staff_escalate', what: string) =>
      new RoundGuard({ loop, log: ctx.log, metrics: opts.metrics, failed: `staff sweep: ${what} failed; trying again`, recovered: `the staff sweep's ${what} works again` });
    this.guards = { assign: guard('staff_assign', 'task assignment'), escalate: guard('staff_escalate', 'SLA escalation') };
  }

  start(): void {
    this.loop = new Periodic(() => this.round(), this.opts.intervalMs ?? STAFF_SWEEP_MS);
    this.loop.start();
  }

  /**
   * One round, now: assign, then escalate (with one clock reading for both). Each has its own
   * try: a failed assignment batch must not hold back the SLA timers that are due, nor the reverse.
   */
  async round(): Promise<void> {
    const now = this.opts.clock();
    await this.guards.assign.run(async () => {
      const a = await assignTasks(this.ctx, { now, metrics: this.opts.metrics });
      if (a.assigned + a.queued + a.unassigned > 0) this.ctx.log.info(a, 'tasks assigned');
    });
    await this.guards.escalate.run(async () => {
      const e = await escalateTasks(this.ctx, { now, mail: this.opts.mail, metrics: this.opts.metrics });
      if (e.reminded + e.reassigned + e.managerNotified + e.breached > 0) this.ctx.log.info(e, 'SLA escalations fired');
    });
  }


  async stop(): Promise<void> {
    await this.loop?.stop();
  }
}
