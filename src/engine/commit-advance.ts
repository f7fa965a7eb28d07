import { randomUUID } from 'node:crypto';
import type { DateTime } from 'luxon';
import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import { updateContact } from '../db/contact-repository.js';
import type { NewEnrollment } from '../db/enrollment-repository.js';
import { insertEnrollments, updateEnrollment } from '../db/enrollment-repository.js';
import { recentHistory } from '../db/event-repository.js';
import type { Database } from '../db/schema.js';
import type { NewTask } from '../db/task-repository.js';
import { insertTask, insertTasks } from '../db/task-repository.js';
import type { NewTouch } from '../db/touch-repository.js';
import { insertTouches, recentEmailTimes } from '../db/touch-repository.js';
import type { Action, AdvanceResult, EnrollmentState, Trigger } from '../sequences/advance.js';
import { advance } from '../sequences/advance.js';
import { assertNever } from '../sequences/compile.js';
import type { HistoryEntry } from '../sequences/conditions.js';
import type { Contact } from '../sequences/contact.js';
import { templateContextOf } from '../sequences/contact.js';
import { mayEnter } from '../sequences/lifecycle.js';
import type { Program } from '../sequences/program.js';
import type { TemplateCache } from '../templates/compile.js';
import { templateOfVersion } from './published-templates.js';
import type { SequenceRegistry } from './sequence-registry.js';
import { InternalError } from '../errors.js';

/** What the engine needs from the outside world; small on purpose. */
export interface EngineDeps {
  db: Kysely<Database>;
  registry: SequenceRegistry;
  templates: TemplateCache;
  config: Pick<Config, 'defaultZone' | 'caps' | 'promotion' | 'leadCallDue' | 'from'>;
}

/** Queue work to do once the transaction has committed (never before: a rollback would leave ghosts). */
export interface AfterCommit {
  sends: { touchId: string; at: Date }[];
  wakes: { enrollmentId: string; version: number; at: Date }[];
}

export function emptyAfterCommit(): AfterCommit {
  return { sends: [], wakes: [] };
}

/** Per-transaction view of one contact, shared by every enrollment the transaction advances. */
export interface ContactScope {
  contact: Contact;
  history: HistoryEntry[] | undefined;
  recentEmails: string[] | undefined;
  after: AfterCommit;
  /** Sequences entered in this transaction, so a `start` loop cannot recurse forever. */
  started: Set<string>;
  /** When set, rows of new enrollments are collected here and written in bulk by the caller. */
  buffer?: WriteBuffer | undefined;
}

/**
 * Rows of new enrollments (which cannot collide with anything already stored) gathered across
 * a batch of events and written with one statement per table.
 */
export class WriteBuffer {
  enrollments: NewEnrollment[] = [];
  touches: NewTouch[] = [];
  tasks: NewTask[] = [];

  async flush(tx: Kysely<Database>): Promise<void> {
    const { enrollments, touches, tasks } = this;
    this.enrollments = [];
    this.touches = [];
    this.tasks = [];
    await insertEnrollments(tx, enrollments);
    await insertTouches(tx, touches);
    await insertTasks(tx, tasks);
  }
}

const WEEK_MS = 7 * 24 * 3600 * 1000;
const HISTORY_FOR_CALLS = 10;

async function inputsFor(tx: Kysely<Database>, deps: EngineDeps, scope: ContactScope, program: Program, now: DateTime) {
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

function touchOf(a: Action & { key: string }, base: Omit<NewTouch, 'id' | 'key' | 'step_id' | 'kind' | 'template' | 'status' | 'subject' | 'due_at'>): NewTouch {
  const common = { ...base, id: randomUUID(), key: `${base.enrollment_id}/${a.key}`, step_id: a.stepId, subject: null };
  switch (a.kind) {
    case 'email':
      return { ...common, kind: 'email', template: a.template, status: 'pending', due_at: new Date(a.dueAt) };
    case 'mail_task':
      return { ...common, kind: a.medium, template: a.template, status: 'done', due_at: new Date(a.dueAt) };
    case 'call_task':
      return { ...common, kind: 'call', template: null, status: 'done', due_at: new Date(a.dueAt) };
    case 'notify':
      return { ...common, kind: 'notify', template: null, status: 'done', due_at: new Date(a.dueAt) };
    case 'skipped':
      return { ...common, kind: 'email', template: null, status: 'cancelled', due_at: new Date(a.dueAt), error: `skipped: ${a.reason}` };
    default:
      throw new InternalError(`action ${a.kind} makes no touch`);
  }
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

async function taskFor(
  tx: Kysely<Database>,
  deps: EngineDeps,
  scope: ContactScope,
  a: Extract<Action, { kind: 'mail_task' | 'call_task' | 'notify' }>,
  touch: NewTouch,
  program: Program,
): Promise<NewTask> {
  const c = scope.contact;
  const common = {
    touch_id: touch.id,
    contact_id: c.id,
    enrollment_id: touch.enrollment_id,
    priority: 'normal' as const,
    address: (c.address as Record<string, unknown> | null) ?? null,
    phone: c.phone,
    due_at: touch.due_at,
  };
  if (a.kind === 'mail_task') {
    // The piece is rendered now, so staff print exactly what the contact's data said at this step.
    const template = await templateOfVersion(deps, tx, { sequenceId: program.sequenceId, version: program.version, name: a.template });
    const rendered = template.render(templateContextOf(c));
    return {
      ...common,
      kind: a.medium,
      title: `${a.medium === 'postcard' ? 'Postcard' : 'Letter'} "${a.template}" to ${displayName(c)}`,
      note: c.address ? null : 'No postal address on file: find one or skip this piece.',
      content: { template: a.template, subject: rendered.subject, html: rendered.html, text: rendered.text },
      history: [],
    };
  }
  const history = (scope.history ?? (await recentHistory(tx, c.id, HISTORY_FOR_CALLS))).slice(0, HISTORY_FOR_CALLS);
  return {
    ...common,
    kind: a.kind === 'call_task' ? 'call' : 'notice',
    priority: a.kind === 'call_task' ? a.priority : 'normal',
    title: a.kind === 'call_task' ? `Call ${displayName(c)}` : `Follow up ${displayName(c)}${a.to ? ` (for ${a.to})` : ''}`,
    note: a.note + (a.kind === 'call_task' && !c.phone ? ' (no phone number on file)' : ''),
    content: null,
    history,
  };
}

export function displayName(c: Pick<Contact, 'firstName' | 'lastName' | 'email'>): string {
  const name = [c.firstName, c.lastName].filter(Boolean).join(' ');
  return name ? `${name} <${c.email}>` : c.email;
}

export type { EnrollmentState };
