import type { DateTime } from 'luxon';
import type { Kysely } from 'kysely';
import { findContactByEmail } from '../db/contact-repository.js';
import { endActiveEnrollments, enrollmentsOfContact } from '../db/enrollment-repository.js';
import type { Database } from '../db/schema.js';
import type { TaskListing, TaskRow } from '../db/task-repository.js';
import { cancelOpenNurtureTasks, latestLeadCallTask, completeTask as markTaskDone } from '../db/task-repository.js';
import {
  cancelOpenMailTasks,
  lastTaskIdOf,
  markCallProgress,
  markContactReach,
  openNurtureTaskIds,
  taskOrigin,
  tasksAfter,
} from '../db/task-outcome-repository.js';
import { cancelPendingEmails } from '../db/touch-repository.js';
import { ConflictError, NotFoundError, UnknownOutcomeError } from '../errors.js';
import type { NurtureEvent } from '../sequences/event.js';
import type { Stage } from '../sequences/stage.js';
import type { OutcomeEffects } from '../staff/outcomes.js';
import { normaliseOutcome, outcomeEffects, validateOutcome } from '../staff/outcomes.js';
import { applyEventsIn } from '../engine/apply-event.js';
import type { ApplyResult } from '../engine/apply-event.js';
import { recordTaskActivity } from '../db/task-activity-repository.js';
import type { AppContext } from './context.js';
import { scheduleOrLeave } from './scheduler.js';
import { lockTaskAndContact, noSuchTask } from './staff-task-guard.js';

export interface CompleteTaskOptions {
  /** Who completed it: a staff user's email, `system`, or `cli` (the default). */
  actor?: string | undefined;
  /** What they said about it; stored as the reason of the task's `completed` activity. */
  note?: string | undefined;
  /**
   * Who may complete it, checked with the task locked (the inbox: the user still sees the task,
   * so a reassignment that lands first wins). False: not found, like a task that does not exist.
   */
  mayComplete?: ((task: TaskRow) => boolean) | undefined;
}

export interface CompleteTaskResult {
  /** The task as it is now (done, with the outcome). */
  task: TaskRow;
  contactEmail: string;
  /** The outcome as declared (the input may differ in case or spacing). */
  outcome: string;
  /** What the outcome does (src/staff/outcomes.ts). */
  effects: OutcomeEffects;
  /** The task was already done with this very outcome: the task itself did not change. */
  alreadyDone: boolean;
  /**
   * For a call whose outcome is one of `promotion.callOutcomes`: whether the appointment request
   * was applied now, or had been applied before (a re-run). null when the outcome is no request.
   */
  appointment: 'applied' | 'duplicate' | null;
  /** The `task_completed` event: applied now, or before (a re-run). */
  completion: { eventId: string; status: 'applied' | 'duplicate' };
  /** The contact became a lead through this completion. */
  promoted: boolean;
  contactStatus: Stage;
  /** Enrollments that were active before and are not any more (a promotion, `not_interested`, an exit rule). */
  endedEnrollments: string[];
  /** Open tasks this outcome cancelled: mail pieces to a returned address, nurture work of a contact not interested. */
  cancelledTaskIds: number[];
  /** The contact's address (`returned`) or phone (`wrong_number`) was flagged now; false when it already was. */
  addressMarkedBad: boolean;
  phoneMarkedBad: boolean;
  /** Tasks the events made: a sequence's retry call waiting on this outcome, the lead call of a promotion. */
  createdTasks: { id: number; kind: string; enrollmentId: string | null }[];
  /** Enrollments the `task_completed` event started (a sequence triggered by it). */
  enrolled: string[];
  /** The high-priority call the promotion created. */
  leadTaskId?: number;
  leadTask?: TaskRow;
}

/** The event id that records a call outcome as an appointment request: one per task, so applied once. */
export function taskOutcomeEventId(taskId: number): string {
  return `task-${taskId}-outcome`;
}

/** The event id of a task's `task_completed`: one per task, so a re-run applies it once. */
export function taskCompletedEventId(taskId: number): string {
  return `task-${taskId}-completed`;
}

/**
 * Completes a staff task with one of its kind's declared outcomes (src/staff/outcomes.ts), in one
 * transaction: the task is marked done with its `completed` activity (who, and their note), a
 * call's first attempt and conversation times are set, the outcome's effects are carried out
 * (a returned address flagged and its open mail pieces cancelled, a wrong number flagged, nurture
 * ended for a contact not interested), then the outcome goes through the engine as a
 * `task_completed` event (so a sequence can `wait_for` it) and, when it counts as an appointment
 * request, as `appointment_requested`, which promotes the contact like any other lead signal.
 *
 * Completing again with the same outcome changes nothing: the task is left as it is, the effects
 * are not repeated (a contact who opted in again since keeps their new enrollments), and the
 * events' fixed ids make them duplicates; an event that never went through (a task marked done
 * by older code) is applied then.
 */
export async function completeTask(ctx: AppContext, taskId: number, outcome: string, now: DateTime, opts: CompleteTaskOptions = {}): Promise<CompleteTaskResult> {
  const { deps } = ctx;
  const at = now.toJSDate();
  const actor = opts.actor?.trim() || 'cli';
  const note = opts.note?.trim() || null;

  const r = await deps.db.transaction().execute(async (tx) => {
    // The contact first, then the task: the engine locks in that order, so the two never deadlock.
    const locked = await lockTaskAndContact(tx, taskId);
    if (!locked) throw noSuchTask(taskId);
    const { task, listing: seen, contact: contactBefore } = locked;
    const chosen = declaredOutcome(ctx, seen, outcome);
    if (opts.mayComplete && !opts.mayComplete(task)) throw new NotFoundError(`no task ${taskId} in your inbox`);
    if (task.status === 'cancelled' || task.status === 'skipped') {
      throw new ConflictError(
        `task ${taskId} was ${task.status}${task.outcome ? ` (${task.outcome})` : ''}${task.completed_at ? ` at ${task.completed_at.toISOString()}` : ''}: ` +
          `a ${task.status} task cannot be completed`,
      );
    }
    let alreadyDone = false;
    if (task.status === 'done') {
      if (normaliseOutcome(task.outcome ?? '') !== normaliseOutcome(chosen)) {
        throw new ConflictError(
          `task ${taskId} is already done with outcome "${task.outcome ?? ''}"${task.completed_at ? ` (at ${task.completed_at.toISOString()})` : ''}: ` +
            `it cannot be completed again as "${chosen}"`,
        );
      }
      alreadyDone = true;
    }
    const effects = outcomeEffects(task.kind, chosen, { promoteOn: deps.config.promotion.callOutcomes });
    const activeBefore = (await enrollmentsOfContact(tx, task.contact_id)).filter((e) => e.status === 'active').map((e) => e.id);
    const cancelledTaskIds: number[] = [];
    const completedAt = alreadyDone ? (task.completed_at ?? at) : at;
    if (!alreadyDone) {
      await markTaskDone(tx, taskId, chosen, at);
      await recordTaskActivity(tx, { taskId, at, actor, action: 'completed', reason: note, detail: { outcome: chosen } });
      await markCallProgress(tx, taskId, effects, at);
      cancelledTaskIds.push(...(await carryOutEffects(tx, task.contact_id, effects, at)));
    }

    const lastTaskBefore = await lastTaskIdOf(tx, task.contact_id);
    const events: NurtureEvent[] = [];
    const contact = { email: seen.email };
    if (effects.promote) {
      events.push({
        id: taskOutcomeEventId(taskId),
        type: 'appointment_requested',
        // When the task was done, not when this ran: a re-run redelivers the very same event.
        occurredAt: completedAt.toISOString(),
        contact,
        data: { source: 'call', taskId, outcome: chosen },
      });
    }
    events.push({ id: taskCompletedEventId(taskId), type: 'task_completed', occurredAt: completedAt.toISOString(), contact, data: await completionData(tx, task, chosen) });
    // Promotion first (same instant, earlier in the batch): nurture has ended when the completion reaches the sequences.
    const applied = await applyEventsIn(tx, deps, events, now);
    applied.forEach((a, i) => {
      if (a.status === 'conflict' || a.status === 'rejected') {
        // Only a stored event of this id with another body gets here: it is listed in `events failed`.
        throw new ConflictError(`task ${taskId}: its event ${events[i]!.id} was recorded before with other details (see: nurture events show ${events[i]!.id})`);
      }
    });
    const activeAfter = new Set((await enrollmentsOfContact(tx, task.contact_id)).filter((e) => e.status === 'active').map((e) => e.id));
    const created = await tasksAfter(tx, task.contact_id, lastTaskBefore);
    return {
      email: seen.email,
      task: alreadyDone ? task : { ...task, status: 'done' as const, outcome: chosen, completed_at: at },
      chosen,
      effects,
      alreadyDone,
      applied,
      cancelledTaskIds,
      endedEnrollments: activeBefore.filter((id) => !activeAfter.has(id)),
      created,
      addressMarkedBad: !alreadyDone && effects.markAddressBad && contactBefore.address_bad_at === null,
      phoneMarkedBad: !alreadyDone && effects.markPhoneBad && contactBefore.phone_bad_at === null,
    };
  });

  for (const a of r.applied) await scheduleOrLeave(ctx, a.after, now);
  const appointment = r.effects.promote ? r.applied[0]! : undefined;
  const completion = r.applied[r.applied.length - 1]!;
  const result: CompleteTaskResult = {
    task: r.task,
    contactEmail: r.email,
    outcome: r.chosen,
    effects: r.effects,
    alreadyDone: r.alreadyDone,
    appointment: appointment ? settled(appointment) : null,
    completion: { eventId: taskCompletedEventId(taskId), status: settled(completion) },
    promoted: r.applied.some((a) => a.promoted),
    contactStatus: 'subscriber',
    endedEnrollments: r.endedEnrollments,
    cancelledTaskIds: r.cancelledTaskIds,
    addressMarkedBad: r.addressMarkedBad,
    phoneMarkedBad: r.phoneMarkedBad,
    createdTasks: r.created.map((t) => ({ id: t.id, kind: t.kind, enrollmentId: t.enrollment_id })),
    enrolled: completion.enrolled,
  };
  if (result.promoted) {
    const lead = await latestLeadCallTask(deps.db, r.task.contact_id);
    if (lead) {
      result.leadTaskId = lead.id;
      result.leadTask = lead;
    }
  }
  const contact = await findContactByEmail(deps.db, r.email);
  result.contactStatus = contact?.status ?? 'subscriber';
  return result;
}

/** The declared spelling of the outcome, or the error that lists the kind's outcomes, naming the task. */
function declaredOutcome(ctx: AppContext, task: TaskListing, given: string): string {
  try {
    return validateOutcome(task.kind, given, ctx.staff?.outcomes);
  } catch (err) {
    if (err instanceof UnknownOutcomeError) throw new UnknownOutcomeError(err.kind, err.given, err.allowed, err.suggestions, `task ${task.id}: ${err.message}`);
    throw err;
  }
}

/** The outcome's effects on the contact, in the caller's transaction; returns the tasks it cancelled. */
async function carryOutEffects(tx: Kysely<Database>, contactId: string, effects: OutcomeEffects, at: Date): Promise<number[]> {
  const cancelled: number[] = [];
  await markContactReach(tx, contactId, { addressBad: effects.markAddressBad, phoneBad: effects.markPhoneBad }, at);
  // Pieces not mailed yet would come back too; later mail steps are skipped by the engine (contacts.address_bad_at).
  if (effects.markAddressBad) cancelled.push(...(await cancelOpenMailTasks(tx, contactId, 'address returned', at)));
  if (effects.endNurture) {
    const open = await openNurtureTaskIds(tx, contactId);
    await endActiveEnrollments(tx, contactId, 'exited', 'not_interested', at);
    await cancelPendingEmails(tx, contactId, 'not_interested', { nurtureOnly: true });
    await cancelOpenNurtureTasks(tx, contactId, 'cancelled: not_interested', at);
    cancelled.push(...open.filter((id) => !cancelled.includes(id)));
  }
  return cancelled.sort((a, b) => a - b);
}

/**
 * The `task_completed` event's data: what `where` can match (kind, outcome, sequence, step) and
 * the task's touch, which ties the event to the step that made the task (`wait_for ... step`).
 * Built from the task alone, so a re-run sends the same body.
 */
async function completionData(tx: Kysely<Database>, task: TaskRow, outcome: string): Promise<Record<string, unknown>> {
  const origin = await taskOrigin(tx, task.touch_id);
  return {
    taskId: task.id,
    kind: task.kind,
    outcome,
    title: task.title,
    ...(task.enrollment_id ? { enrollmentId: task.enrollment_id } : {}),
    ...(origin?.sequenceId ? { sequence: origin.sequenceId } : {}),
    ...(origin ? { step: origin.stepId } : {}),
    ...(task.touch_id ? { touchId: task.touch_id } : {}),
  };
}

function settled(a: ApplyResult): 'applied' | 'duplicate' {
  return a.status === 'applied' ? 'applied' : 'duplicate';
}
