import type { DateTime } from 'luxon';
import { findContactByEmail, lockContact } from '../db/contact-repository.js';
import { enrollmentsOfContact } from '../db/enrollment-repository.js';
import type { TaskRow } from '../db/task-repository.js';
import { findTask, latestLeadCallTask, lockTask, completeTask as markTaskDone } from '../db/task-repository.js';
import { ConflictError, InputError, NotFoundError } from '../errors.js';
import type { NurtureEvent } from '../sequences/event.js';
import type { Stage } from '../sequences/stage.js';
import { applyEvent } from '../engine/apply-event.js';
import type { AppContext } from './context.js';
import { scheduleOrLeave } from './scheduler.js';

export interface CompleteTaskResult {
  /** The task as it is now (done, with the outcome). */
  task: TaskRow;
  contactEmail: string;
  /** The task was already done with this very outcome: the task itself did not change. */
  alreadyDone: boolean;
  /**
   * For a call whose outcome is one of `promotion.callOutcomes`: whether the appointment request
   * was applied now, or had been applied before (a re-run). null when the outcome is no request.
   */
  appointment: 'applied' | 'duplicate' | null;
  /** The contact became a lead through this completion. */
  promoted: boolean;
  contactStatus: Stage;
  /** Enrollments that were active before and are not any more (ended by the promotion). */
  endedEnrollments: string[];
  /** The high-priority call the promotion created. */
  leadTaskId?: number;
  leadTask?: TaskRow;
}

/** The event id that records a call outcome as an appointment request: one per task, so applied once. */
export function taskOutcomeEventId(taskId: number): string {
  return `task-${taskId}-outcome`;
}

/**
 * Completes a staff task. A call whose outcome counts as an appointment request (by default
 * `appointment_booked`) then goes through the engine as an `appointment_requested` event, which
 * promotes the contact like any other lead signal.
 *
 * Two transactions: the task is marked done first, then the event is applied. Completing again
 * with the same outcome changes nothing on the task but re-applies the event, whose fixed id makes
 * that a no-op if it went through, and heals a crash between the two if it did not.
 */
export async function completeTask(ctx: AppContext, taskId: number, outcome: string, now: DateTime): Promise<CompleteTaskResult> {
  const { deps } = ctx;
  const text = outcome.trim();
  if (text === '') throw new InputError(`task ${taskId}: the outcome is empty: say what happened (e.g. appointment_booked, left_voicemail)`);
  const at = now.toJSDate();

  const done = await deps.db.transaction().execute(async (tx) => {
    const seen = await findTask(tx, taskId);
    if (!seen) throw new NotFoundError(`no task with id ${taskId} (list tasks with: nurture tasks --status all)`);
    // The contact first, then the task: the engine locks in that order, so the two never deadlock.
    await lockContact(tx, seen.contact_id);
    const task = await lockTask(tx, taskId);
    if (!task) throw new NotFoundError(`no task with id ${taskId} (list tasks with: nurture tasks --status all)`);
    if (task.status === 'cancelled') {
      throw new ConflictError(
        `task ${taskId} was cancelled${task.outcome ? ` (${task.outcome})` : ''}${task.completed_at ? ` at ${task.completed_at.toISOString()}` : ''}: a cancelled task cannot be completed`,
      );
    }
    if (task.status === 'done') {
      if (task.outcome !== text) {
        throw new ConflictError(
          `task ${taskId} is already done with outcome "${task.outcome ?? ''}"${task.completed_at ? ` (at ${task.completed_at.toISOString()})` : ''}: ` +
            `it cannot be completed again as "${text}"`,
        );
      }
      return { task, email: seen.email, alreadyDone: true };
    }
    await markTaskDone(tx, taskId, text, at);
    return { task: { ...task, status: 'done' as const, outcome: text, completed_at: at }, email: seen.email, alreadyDone: false };
  });

  const result: CompleteTaskResult = {
    task: done.task,
    contactEmail: done.email,
    alreadyDone: done.alreadyDone,
    appointment: null,
    promoted: false,
    contactStatus: 'subscriber',
    endedEnrollments: [],
  };
  const isAppointment = done.task.kind === 'call' && deps.config.promotion.callOutcomes.includes(text);
  if (isAppointment) {
    const activeBefore = (await enrollmentsOfContact(deps.db, done.task.contact_id)).filter((e) => e.status === 'active').map((e) => e.id);
    const event: NurtureEvent = {
      id: taskOutcomeEventId(taskId),
      type: 'appointment_requested',
      // When the task was done, not when this ran: a re-run redelivers the very same event.
      occurredAt: (done.task.completed_at ?? now.toJSDate()).toISOString(),
      contact: { email: done.email },
      data: { source: 'call', taskId, outcome: text },
    };
    const applied = await applyEvent(deps, event, now);
    await scheduleOrLeave(ctx, applied.after, now);
    if (applied.status === 'conflict') {
      // Only a stored event of this id with another body gets here: it is listed in `events failed`.
      throw new ConflictError(`task ${taskId}: its appointment request ${event.id} was recorded before with other details (see: nurture events show ${event.id})`);
    }
    result.appointment = applied.status;
    result.promoted = applied.promoted;
    if (applied.status === 'applied') {
      const after = new Map((await enrollmentsOfContact(deps.db, done.task.contact_id)).map((e) => [e.id, e.status]));
      result.endedEnrollments = activeBefore.filter((id) => after.get(id) !== 'active');
    }
    if (applied.promoted) {
      const lead = await latestLeadCallTask(deps.db, done.task.contact_id);
      if (lead) {
        result.leadTaskId = lead.id;
        result.leadTask = lead;
      }
    }
  }
  const contact = await findContactByEmail(deps.db, done.email);
  result.contactStatus = contact?.status ?? 'subscriber';
  return result;
}
