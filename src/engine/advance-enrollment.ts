import { randomUUID } from 'node:crypto';
import type { DateTime } from 'luxon';
import type { Kysely } from 'kysely';
import { updateContact } from '../db/contact-repository.js';
import { updateEnrollment } from '../db/enrollment-repository.js';
import { recentHistory } from '../db/event-repository.js';
import type { Database } from '../db/schema.js';
import { insertTask } from '../db/task-repository.js';
import type { NewTouch } from '../db/touch-repository.js';
import { insertTouches, recentEmailTimes } from '../db/touch-repository.js';
import type { Action, AdvanceResult, Trigger } from '../sequences/advance.js';
import { advance } from '../sequences/advance.js';
import { assertNever } from '../sequences/compile.js';
import { mayEnter } from '../sequences/lifecycle.js';
import type { Program } from '../sequences/program.js';
import type { ContactScope, EngineDeps } from './engine-deps.js';
import { taskFor, touchOf } from './touch-rows.js';
import { WriteBuffer } from './write-buffer.js';

/**
 * Runs the pure core (`advance`) for one enrollment and commits what it decided inside the
 * caller's transaction: the new state, the touches and tasks, tag and attribute changes, and
 * the sequences it starts. Follow-up queue work is collected on the contact's scope.
 */

const WEEK_MS = 7 * 24 * 3600 * 1000;

export async function inputsFor(tx: Kysely<Database>, deps: EngineDeps, scope: ContactScope, program: Program, now: DateTime) {
  if (scope.history === undefined && program.instructions.some((i) => i.op === 'branch')) {
    scope.history = await recentHistory(tx, scope.contact.id);
  }
  if (scope.recentEmails === undefined && deps.config.caps) {
    scope.recentEmails = await recentEmailTimes(tx, scope.contact.id, new Date(now.toMillis() - WEEK_MS));
  }
  return { history: scope.history ?? [], recentEmails: scope.recentEmails ?? [] };
}

/** Advances an existing enrollment and commits the result inside `tx`. */
export async function advanceEnrollment(
  tx: Kysely<Database>,
  deps: EngineDeps,
  scope: ContactScope,
  e: { id: string; sequence_id: string; sequence_version: string; state: unknown; enrolled_at: Date },
  trigger: Trigger,
  now: DateTime,
): Promise<AdvanceResult> {
  const { program, state } = await deps.registry.forEnrollment(e, tx);
  const inputs = await inputsFor(tx, deps, scope, program, now);
  const result = advance({ program, state, enrollmentId: e.id, contact: scope.contact, ...inputs, trigger, now, settings: deps.config });
  if (!result.changed) return result;
  const version = await updateEnrollment(tx, e.id, {
    status: result.outcome,
    exit_reason: result.reason,
    state: result.state,
    step_id: result.stepId,
    sequence_version: program.version,
    next_wake_at: result.wakeAt?.toJSDate() ?? null,
    ended_at: result.outcome === 'active' ? null : now.toJSDate(),
  });
  await applyActions(tx, deps, scope, program, e.id, result, version, now, undefined);
  return result;
}

/** Enrolls the contact in `program` if its re-entry policy allows, and runs the first steps. */
export async function enroll(
  tx: Kysely<Database>,
  deps: EngineDeps,
  scope: ContactScope,
  program: Program,
  past: readonly { sequence_id: string; status: string; enrolled_at: Date }[],
  now: DateTime,
): Promise<string | null> {
  if (scope.started.has(program.sequenceId)) return null;
  const mine = past.filter((p) => p.sequence_id === program.sequenceId).map((p) => ({ enrolledAt: p.enrolled_at.toISOString(), status: p.status as 'active' }));
  if (!mayEnter(program.definition, scope.contact, mine, now, deps.config.defaultZone).enter) return null;
  scope.started.add(program.sequenceId);
  const id = randomUUID();
  const inputs = await inputsFor(tx, deps, scope, program, now);
  const result = advance({ program, state: null, enrollmentId: id, contact: scope.contact, ...inputs, trigger: { kind: 'start' }, now, settings: deps.config });
  const buffer = scope.buffer ?? new WriteBuffer();
  buffer.enrollments.push({
    id,
    contact_id: scope.contact.id,
    sequence_id: program.sequenceId,
    sequence_version: program.version,
    status: result.outcome,
    exit_reason: result.reason,
    state: result.state,
    step_id: result.stepId,
    next_wake_at: result.wakeAt?.toJSDate() ?? null,
    enrolled_at: now.toJSDate(),
    ended_at: result.outcome === 'active' ? null : now.toJSDate(),
  });
  await applyActions(tx, deps, scope, program, id, result, 0, now, buffer);
  if (!scope.buffer) await buffer.flush(tx);
  return id;
}

async function applyActions(
  tx: Kysely<Database>,
  deps: EngineDeps,
  scope: ContactScope,
  program: Program,
  enrollmentId: string,
  result: AdvanceResult,
  wakeVersion: number,
  now: DateTime,
  /** Given for a new enrollment: its rows go here instead of straight to the database. */
  fresh: WriteBuffer | undefined,
): Promise<void> {
  const base = { enrollment_id: enrollmentId, contact_id: scope.contact.id, sequence_id: program.sequenceId };
  const touches: { action: Action; touch: NewTouch }[] = [];
  let contactChanged = false;
  const starts: string[] = [];
  for (const a of result.actions) {
    switch (a.kind) {
      case 'email':
      case 'mail_task':
      case 'call_task':
      case 'notify':
      case 'skipped':
        touches.push({ action: a, touch: touchOf(a, base) });
        break;
      case 'tag':
        scope.contact.tags = [...new Set([...scope.contact.tags.filter((t) => !a.remove.includes(t)), ...a.add])];
        contactChanged = true;
        break;
      case 'set':
        scope.contact.attributes = { ...scope.contact.attributes, ...a.values };
        contactChanged = true;
        break;
      case 'start':
        starts.push(a.sequence);
        break;
      default:
        assertNever(a);
    }
  }
  let inserted: Set<string>;
  if (fresh) {
    fresh.touches.push(...touches.map((t) => t.touch));
    inserted = new Set(touches.map((t) => t.touch.id));
  } else {
    inserted = await insertTouches(tx, touches.map((t) => t.touch));
  }
  for (const { action, touch } of touches) {
    if (!inserted.has(touch.id)) continue;
    if (action.kind === 'email') {
      scope.after.sends.push({ touchId: touch.id, at: touch.due_at });
      scope.recentEmails?.push(action.dueAt);
    }
    if (action.kind === 'mail_task' || action.kind === 'call_task' || action.kind === 'notify') {
      const task = await taskFor(tx, deps, scope, action, touch, program);
      if (fresh) fresh.tasks.push(task);
      else await insertTask(tx, task);
    }
  }
  if (contactChanged) await updateContact(tx, scope.contact.id, { tags: scope.contact.tags, attributes: scope.contact.attributes });
  if (result.outcome === 'active' && result.wakeAt) {
    scope.after.wakes.push({ enrollmentId, version: wakeVersion, at: result.wakeAt.toJSDate() });
  }
  for (const sequenceId of starts) {
    const target = deps.registry.activeProgram(sequenceId);
    if (!target) continue; // validated at load; a sequence removed since then is simply not started
    const past = await tx.selectFrom('enrollments').select(['sequence_id', 'status', 'enrolled_at']).where('contact_id', '=', scope.contact.id).where('sequence_id', '=', sequenceId).execute();
    await enroll(tx, deps, scope, target, past, now);
  }
}
