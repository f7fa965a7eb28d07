import { DateTime } from 'luxon';
import type { Kysely, Selectable } from 'kysely';
import type { Database, TasksTable } from '../db/schema.js';
import type { TaskTimerRow } from '../db/staff-work-repository.js';
import {
  cancelPendingTimers,
  dueTimerIds,
  insertTimers,
  lockPendingTimer,
  lockTaskSkipping,
  lockTeamCursors,
  markBreached,
  markTimerFired,
  moveContactOwner,
  nextTimerStep,
  openTaskLoads,
  saveTeamCursor,
  timerDetailSchema,
} from '../db/staff-work-repository.js';
import { lockContact } from '../db/contact-repository.js';
import { recordTaskActivity } from '../db/task-activity-repository.js';
import { placeTask } from '../db/task-work-repository.js';
import { decideReassignment } from '../staff/assign.js';
import type { TeamDirectory } from '../staff/directory.js';
import { findTeam, findUser } from '../staff/directory.js';
import { replanAfterReassign, slaCalendar, slaRuleFor } from '../staff/sla.js';
import type { MailSender, OutgoingMail } from '../templates/mail-sender.js';
import type { AppContext } from './context.js';
import type { Metrics } from './metrics.js';
import { escapeHtml } from '../templates/escape-html.js';
import { messageIdDomain } from '../templates/message-id.js';

/** Most timers handled per sweep. */
export const ESCALATE_BATCH = 200;

export interface EscalateResult {
  reminded: number;
  reassigned: number;
  managerNotified: number;
  breached: number;
  /** Timers that found nothing to do (nobody to reassign to, no manager) but fired. */
  noop: number;
  /** Timers of tasks done, skipped, cancelled or already attempted. */
  cancelled: number;
  /** Staff emails that could not be sent (logged). */
  mailFailed: number;
}

interface Outcome {
  kind: keyof Omit<EscalateResult, 'mailFailed'>;
  mails: OutgoingMail[];
  action?: 'remind' | 'reassign' | 'notify_manager' | 'breach';
}

/**
 * Fires the SLA escalation timers that are due: remind the assignee, reassign to the next
 * available rep, notify the team manager, record the breach. Each timer is handled in its own
 * transaction that locks the task's contact (first, like every writer: a reassignment moves the
 * contact's owner), then the task (SKIP LOCKED: another process is on it) and the timer, so a
 * timer fires once however many processes sweep and across restarts. A task that is no longer
 * open, or whose first call attempt is recorded, has its timers cancelled instead: the SLA was
 * met (or is moot). Staff emails go out after the commit: a crash between the two loses a
 * reminder (at most once) rather than sending it twice.
 */
export async function escalateTasks(app: AppContext, o: { now: DateTime; mail: MailSender; batch?: number; metrics?: Metrics | undefined }): Promise<EscalateResult> {
  const out: EscalateResult = { reminded: 0, reassigned: 0, managerNotified: 0, breached: 0, noop: 0, cancelled: 0, mailFailed: 0 };
  const dir = app.staff;
  if (!dir) return out;
  const at = o.now.toJSDate();
  const due = await dueTimerIds(app.deps.db, at, o.batch ?? ESCALATE_BATCH);
  for (const d of due) {
    const r = await app.deps.db.transaction().execute(async (tx): Promise<Outcome | undefined> => {
      const contact = await lockContact(tx, d.contact_id);
      if (!contact) return undefined;
      const task = await lockTaskSkipping(tx, d.task_id);
      if (!task) return undefined;
      const timer = await lockPendingTimer(tx, d.id);
      if (!timer) return undefined;
      return fire(tx, dir, app.deps.config.from, task, timer, contact.email, o.now);
    });
    if (!r) continue;
    out[r.kind]++;
    if (r.action) o.metrics?.taskEscalation?.(r.action);
    for (const m of r.mails) {
      try {
        await o.mail.send(m);
      } catch (err) {
        out.mailFailed++;
        app.log.warn({ err: (err as Error).message, to: m.to, task: d.task_id }, 'could not send an SLA escalation email');
      }
    }
  }
  return out;
}

async function fire(tx: Kysely<Database>, dir: TeamDirectory, from: string, task: Selectable<TasksTable>, timer: TaskTimerRow, contactEmail: string, now: DateTime): Promise<Outcome> {
  const at = now.toJSDate();
  if (task.status !== 'open' || task.first_attempt_at !== null) {
    await cancelPendingTimers(tx, task.id);
    return { kind: 'cancelled', mails: [] };
  }
  await markTimerFired(tx, timer.id, at);
  const detail = { timer: Number(timer.id), step: timer.step, dueAt: timer.due_at.toISOString() };
  const what = `task #${task.id} (${task.kind}: ${task.title}, ${contactEmail})`;
  const due = task.sla_due_at ? DateTime.fromJSDate(task.sla_due_at).toUTC().toFormat("yyyy-LL-dd HH:mm 'UTC'") : 'no deadline';
  const mail = (to: string, subject: string, text: string, n: number): OutgoingMail => ({
    from,
    to,
    subject,
    text,
    html: `<p>${escapeHtml(text)}</p>`,
    messageId: `sla-${task.id}-${timer.id}-${n}@${messageIdDomain(from)}`,
  });
  switch (timer.action) {
    case 'remind': {
      const to = task.assignee !== null ? [task.assignee] : (findTeam(dir, task.team ?? '')?.members ?? []);
      if (to.length === 0) {
        await recordTaskActivity(tx, { taskId: task.id, actor: 'system', action: 'escalated', reason: 'SLA reminder: nobody to remind (no assignee, no team)', detail, at });
        return { kind: 'noop', mails: [], action: 'remind' };
      }
      const reason = `SLA reminder to ${to.join(', ')}: due ${due}`;
      await recordTaskActivity(tx, { taskId: task.id, actor: 'system', action: 'reminded', reason, detail: { ...detail, to }, at });
      return { kind: 'reminded', action: 'remind', mails: to.map((t, i) => mail(t, `Reminder: ${task.title} is due ${due}`, `Please work ${what}: its speed-to-lead deadline is ${due}.`, i)) };
    }
    case 'reassign': {
      const cursors = await lockTeamCursors(tx);
      const loads = await openTaskLoads(tx);
      const d = decideReassignment({ directory: dir, team: task.team, current: task.assignee, loads, cursors, now });
      if (d.kind === 'keep') {
        await recordTaskActivity(tx, { taskId: task.id, actor: 'system', action: 'escalated', reason: d.reason, detail, at });
        return { kind: 'noop', mails: [], action: 'reassign' };
      }
      // A new holder who did not claim it: the previous holder's claim goes with the task.
      await placeTask(tx, task.id, { assignee: d.assignee, team: d.team, reason: d.reason, at, claimed: false });
      await saveTeamCursor(tx, d.cursor.team, d.cursor.last, at);
      if (task.kind === 'call') await moveContactOwner(tx, task.contact_id, task.assignee, d.assignee);
      await recordTaskActivity(tx, { taskId: task.id, actor: 'system', action: 'reassigned', reason: d.reason, detail: { ...detail, from: task.assignee, to: d.assignee }, at });
      // The later escalation steps follow the new rep; the deadline and its breach timer stay.
      const parsed = timerDetailSchema.safeParse(timer.detail);
      const rule = slaRuleFor(dir, task.kind, task.priority);
      if (parsed.success && parsed.data.escalation !== null && rule) {
        await cancelPendingTimers(tx, task.id, ['remind', 'reassign', 'notify_manager']);
        const next = replanAfterReassign(rule, parsed.data.escalation, slaCalendar(dir, d.assignee, d.team), now, await nextTimerStep(tx, task.id));
        await insertTimers(tx, task.id, next.map((x) => ({ step: x.step, action: x.action, dueAt: x.dueAt.toJSDate(), escalation: x.escalation })));
      }
      const name = findUser(dir, d.assignee)?.name ?? d.assignee;
      return { kind: 'reassigned', action: 'reassign', mails: [mail(d.assignee, `New for you: ${task.title} (due ${due})`, `${what} was reassigned to you, ${name}: its speed-to-lead deadline is ${due}.`, 0)] };
    }
    case 'notify_manager': {
      const team = task.team === null ? undefined : findTeam(dir, task.team);
      if (!team?.manager) {
        await recordTaskActivity(tx, { taskId: task.id, actor: 'system', action: 'escalated', reason: `SLA: no manager to notify (team ${task.team ?? 'none'})`, detail, at });
        return { kind: 'noop', mails: [], action: 'notify_manager' };
      }
      const reason = `SLA escalated to ${team.manager}, manager of team ${team.name}`;
      await recordTaskActivity(tx, { taskId: task.id, actor: 'system', action: 'manager_notified', reason, detail: { ...detail, to: team.manager }, at });
      const who = task.assignee ?? `team ${team.name}'s queue`;
      return { kind: 'managerNotified', action: 'notify_manager', mails: [mail(team.manager, `Not called yet: ${task.title}`, `${what} is still waiting for a first call attempt (with ${who}); its speed-to-lead deadline is ${due}.`, 0)] };
    }
    case 'breach': {
      await markBreached(tx, task.id, at);
      await recordTaskActivity(tx, { taskId: task.id, actor: 'system', action: 'breached', reason: `SLA breached: no call attempt by ${due}`, detail: { ...detail, assignee: task.assignee }, at });
      return { kind: 'breached', action: 'breach', mails: [] };
    }
    default: {
      const never: never = timer.action;
      throw new Error(`unknown timer action ${String(never)}`);
    }
  }
}
