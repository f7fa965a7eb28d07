import { InputError } from '../errors.js';
import type { TaskItem } from '../queries/tasks.js';
import type { ViewOptions } from './contacts.js';
import { formatInstant, relativeTime } from './format.js';

/** Small texts every `nurture tasks` command prints the same way. */

export function parseTaskId(value: string): number {
  const id = Number(value.replace(/^#/, ''));
  if (!/^#?\d+$/.test(value.trim()) || !Number.isSafeInteger(id) || id < 1) {
    throw new InputError(`task id "${value}" is not a number (the ID column of: nurture tasks)`);
  }
  return id;
}

/** Who holds it, or whose queue it waits in; null when nobody placed it yet. */
export function placementText(t: Pick<TaskItem, 'assignee' | 'team' | 'claimedAt'>): string | null {
  if (t.assignee) return `${t.claimedAt ? 'claimed by' : 'assigned to'} ${t.assignee}${t.team ? ` (team ${t.team})` : ''}`;
  if (t.team) return `in team ${t.team}'s queue, unclaimed`;
  return null;
}

/** "SLA in 3 min (10:05 UTC)", "SLA BREACHED 2 min ago (deadline ...)", or just the deadline once attempted or closed; null without an SLA. */
export function slaText(t: Pick<TaskItem, 'slaDueAt' | 'slaBreachedAt' | 'status' | 'firstAttemptAt'>, o: ViewOptions): string | null {
  if (!t.slaDueAt) return null;
  const at = new Date(t.slaDueAt);
  const abs = formatInstant(at, o.zone);
  if (t.slaBreachedAt) return `SLA BREACHED ${relativeTime(new Date(t.slaBreachedAt), o.now)} (deadline ${abs})`;
  if (t.status !== 'open' || t.firstAttemptAt) return `SLA deadline ${abs}`;
  if (at.getTime() < o.now.toMillis()) return `SLA BREACHED ${relativeTime(at, o.now)} (deadline ${abs})`;
  return `SLA ${relativeTime(at, o.now)} (${abs})`;
}
