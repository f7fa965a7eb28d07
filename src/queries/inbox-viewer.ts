import type { ExpressionBuilder } from 'kysely';
import type { Database } from '../db/schema.js';
import type { TeamDirectory } from '../staff/directory.js';
import { findUser } from '../staff/directory.js';

/**
 * Who is looking at the inbox, and what they may see: a task is theirs (assignee), or waits
 * unclaimed in one of their teams' queues, or belongs to a team they manage. One rule, used by
 * the SQL of every inbox read model and by every inbox use case that changes a task.
 */

export interface InboxViewer {
  email: string;
  name: string;
  teams: readonly string[];
  /** Teams whose manager the viewer is: they see all of those teams' tasks. */
  manages: readonly string[];
}

/** The viewer a logged-in email is, or undefined when the directory no longer has the user. */
export function inboxViewer(dir: TeamDirectory | undefined, email: string): InboxViewer | undefined {
  const user = dir ? findUser(dir, email) : undefined;
  if (!dir || !user) return undefined;
  return { email: user.email, name: user.name, teams: user.teams, manages: dir.teams.filter((t) => t.manager === user.email).map((t) => t.name) };
}

export interface TaskPlace {
  assignee: string | null;
  team: string | null;
}

export function canSeeTask(v: InboxViewer, t: TaskPlace): boolean {
  if (t.assignee !== null && t.assignee === v.email) return true;
  if (t.team === null) return false;
  if (t.assignee === null && v.teams.includes(t.team)) return true;
  return v.manages.includes(t.team);
}

/** The same rule as canSeeTask, as a WHERE condition on `tasks`. */
export function visibleTo(v: InboxViewer) {
  return (eb: ExpressionBuilder<Database, 'tasks'>) => {
    const ors = [eb('tasks.assignee', '=', v.email)];
    if (v.teams.length > 0) ors.push(eb.and([eb('tasks.assignee', 'is', null), eb('tasks.team', 'in', [...v.teams])]));
    if (v.manages.length > 0) ors.push(eb('tasks.team', 'in', [...v.manages]));
    return eb.or(ors);
  };
}

/** A task the viewer may take: waiting unclaimed in the queue of a team they are in (a manager outside the team sees it, and cannot). */
export function canClaimTask<T extends TaskPlace>(v: InboxViewer, t: T): t is T & { team: string } {
  return t.assignee === null && t.team !== null && v.teams.includes(t.team);
}
