import type { Kysely } from 'kysely';
import type { ContactRow } from '../db/contact-repository.js';
import { lockContact } from '../db/contact-repository.js';
import type { Database } from '../db/schema.js';
import type { TaskListing, TaskRow } from '../db/task-repository.js';
import { findTask, lockTask } from '../db/task-repository.js';
import { ConfigError, ConflictError, ForbiddenError, InputError, NotFoundError } from '../errors.js';
import { closestNames, didYouMean } from '../sequences/suggest.js';
import type { StaffUser, Team, TeamDirectory } from '../staff/directory.js';
import { findTeam, findUser } from '../staff/directory.js';
import type { AppContext } from './context.js';

/**
 * What claim, snooze, reassign and skip share: who is acting, whether they may touch the task,
 * and the task locked (its contact first, like every writer) and still open.
 */

/** Actors that are not staff users: an operator at the command line, the engine. Not checked against the directory. */
export const OPERATOR_ACTORS: readonly string[] = ['cli', 'system'];

/** A staff user, or an operator (user undefined). */
export interface Acting {
  actor: string;
  user: StaffUser | undefined;
}

export function requireDirectory(ctx: AppContext, what: string): TeamDirectory {
  if (!ctx.staff) throw new ConfigError(`${what} needs the team directory (team.yaml): pass --directory FILE (see examples/team.yaml)`);
  return ctx.staff;
}

function namesHint(given: string, known: readonly string[], noun: string): string {
  const near = didYouMean(closestNames(given, known, 2));
  if (near) return near;
  if (known.length === 0) return ` (it has no ${noun}s)`;
  const shown = known.slice(0, 8).join(', ');
  return ` (${noun}s: ${shown}${known.length > 8 ? `, and ${known.length - 8} more` : ''})`;
}

export function requireStaffUser(dir: TeamDirectory, email: string): StaffUser {
  const user = findUser(dir, email);
  if (!user) {
    throw new InputError(`no user "${email.trim()}" in ${dir.file}${namesHint(email.trim().toLowerCase(), dir.users.map((u) => u.email), 'user')}`);
  }
  return user;
}

export function requireTeam(dir: TeamDirectory, name: string): Team {
  const team = findTeam(dir, name.trim());
  if (!team) throw new InputError(`no team "${name.trim()}" in ${dir.file}${namesHint(name.trim(), dir.teams.map((t) => t.name), 'team')}`);
  return team;
}

/** `cli` and `system` act as operators; anything else must be a user of the directory. */
export function resolveActor(ctx: AppContext, actor: string): Acting {
  const a = actor.trim();
  if (a === '') throw new InputError('who acts is empty: give a staff email (--as EMAIL) or leave it out to act as cli');
  if (OPERATOR_ACTORS.includes(a.toLowerCase())) return { actor: a.toLowerCase(), user: undefined };
  const user = requireStaffUser(requireDirectory(ctx, `acting as ${a}`), a);
  return { actor: user.email, user };
}

export function userLabel(dir: TeamDirectory | undefined, email: string): string {
  const u = dir ? findUser(dir, email) : undefined;
  return u ? `${u.name} <${u.email}>` : email;
}

/** A staff user may work a task they hold, or one of a team they are in or manage; operators may work any. */
export function mayWork(dir: TeamDirectory, user: StaffUser, task: Pick<TaskRow, 'assignee' | 'team'>): boolean {
  if (task.assignee === user.email) return true;
  if (task.team === null) return false;
  return user.teams.includes(task.team) || dir.teams.some((t) => t.name === task.team && t.manager === user.email);
}

export function checkMayWork(ctx: AppContext, acting: Acting, task: TaskRow, verb: string): void {
  if (!acting.user || !ctx.staff) return;
  if (mayWork(ctx.staff, acting.user, task)) return;
  const where = task.assignee ? `assigned to ${userLabel(ctx.staff, task.assignee)}` : task.team ? `in team ${task.team}'s queue` : 'in no team';
  throw new ForbiddenError(`task ${task.id} is ${where}: ${acting.user.email} (teams: ${acting.user.teams.join(', ') || 'none'}) cannot ${verb} it`);
}

const CLOSED_WORDS = { done: 'done', cancelled: 'cancelled', skipped: 'skipped' } as const;

/** Done, cancelled and skipped tasks are finished: say which, why and since when. */
export function closedTaskConflict(task: TaskRow, verb: string): ConflictError | undefined {
  if (task.status === 'open') return undefined;
  const prefix = `${task.status}: `;
  const why = task.outcome ? (task.outcome.startsWith(prefix) ? task.outcome.slice(prefix.length) : task.outcome) : '';
  const since = task.completed_at ? ` since ${task.completed_at.toISOString()}` : '';
  return new ConflictError(`task ${task.id} is ${CLOSED_WORDS[task.status]}${why ? ` (${why})` : ''}${since}: it cannot be ${verb}`);
}

export const noSuchTask = (id: number) => new NotFoundError(`no task with id ${id} (list tasks with: nurture tasks --status all)`);

/**
 * In a transaction: the contact then the task locked (the engine's order), both as they are once
 * locked; undefined when there is no such task. `listing` was read before the locks.
 */
export async function lockTaskAndContact(tx: Kysely<Database>, taskId: number): Promise<{ task: TaskRow; listing: TaskListing; contact: ContactRow } | undefined> {
  const listing = await findTask(tx, taskId);
  if (!listing) return undefined;
  const contact = await lockContact(tx, listing.contact_id);
  const task = await lockTask(tx, taskId);
  // A task's contact cannot go while the task stays (the rows cascade): no contact, no task.
  return task && contact ? { task, listing, contact } : undefined;
}

/** In a transaction: the contact then the task locked (the engine's order), refused unless open. */
export async function lockOpenTask(tx: Kysely<Database>, taskId: number, verb: string): Promise<{ task: TaskRow; listing: TaskListing }> {
  const locked = await lockTaskAndContact(tx, taskId);
  if (!locked) throw noSuchTask(taskId);
  const { task, listing } = locked;
  const closed = closedTaskConflict(task, verb);
  if (closed) throw closed;
  return { task, listing };
}

/** A reason given by a person: trimmed, required, bounded. */
export function requireReason(reason: string | undefined, taskId: number, verb: string): string {
  const r = (reason ?? '').trim();
  if (r === '') throw new InputError(`task ${taskId}: say why it is ${verb} (--reason TEXT)`);
  if (r.length > 1000) throw new InputError(`task ${taskId}: the reason is ${r.length} characters; at most 1000`);
  return r;
}
