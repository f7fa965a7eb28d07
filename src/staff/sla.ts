import type { DateTime } from 'luxon';
import type { TaskKind, TimerAction } from '../db/schema.js';
import type { EscalationStep, SlaRule, StaffUser, TeamDirectory } from './directory.js';
import { findTeam, findUser } from './directory.js';
import type { WorkCalendar } from './working-hours.js';
import { addWorkingTime, calendarOf, isCalendarWorkingAt } from './working-hours.js';

/**
 * Speed-to-lead: a task's SLA deadline and its escalation timers, as data. Pure.
 *
 * Time is counted in working time: the SLA clock runs only while the assignee works (for a task
 * in a team's queue, while any member works), starting at the task's creation. A task made in
 * working hours is due `within` of working time later; one made outside them is due
 * `outside_hours` into the next working period (time spent off-hours does not count; a period
 * shorter than that carries on into the next). Escalation steps (`after`) are counted the same
 * way from the same start. When nobody's hours are known (no assignee, no team, or nobody works
 * within a year) the clock runs on wall time.
 */

export interface PlannedTimer {
  /** Unique per task (task_timers.step). */
  step: number;
  action: TimerAction;
  dueAt: DateTime;
  /** Which escalation step of the SLA rule it is (index), or null for the breach. */
  escalation: number | null;
}

export interface SlaPlan {
  rule: SlaRule;
  dueAt: DateTime;
  /** Whether the task was made in working hours (`within`) or outside them (`outside_hours`). */
  inHours: boolean;
  /** Escalation steps in order, then the breach at the deadline. */
  timers: PlannedTimer[];
}

/** The first SLA rule for the task's kind and priority ('*' matches any); undefined: no SLA. */
export function slaRuleFor(dir: Pick<TeamDirectory, 'slas'>, kind: TaskKind, priority: 'normal' | 'high'): SlaRule | undefined {
  return dir.slas.find((s) => (s.kind === '*' || s.kind === kind) && (s.priority === '*' || s.priority === priority));
}

/** Whose working time counts: the assignee's; else the team's members'; else nobody (wall time). */
export function slaCalendar(dir: TeamDirectory, assignee: string | null, team: string | null): WorkCalendar {
  const user = assignee === null ? undefined : findUser(dir, assignee);
  if (user) return calendarOf(dir, [user]);
  const t = team === null ? undefined : findTeam(dir, team);
  const members = (t?.members ?? []).map((e) => findUser(dir, e)).filter((u): u is StaffUser => u !== undefined);
  return calendarOf(dir, members);
}

/** `ms` of working time after `from`, or of wall time when the calendar cannot say. */
export function afterWorking(cal: WorkCalendar, from: DateTime, ms: number): DateTime {
  return addWorkingTime(cal, from, ms) ?? from.plus({ milliseconds: ms });
}

/** The deadline and timers of a task created at `createdAt`; undefined when no SLA rule applies. */
export function planSla(dir: TeamDirectory, task: { kind: TaskKind; priority: 'normal' | 'high'; createdAt: DateTime }, cal: WorkCalendar): SlaPlan | undefined {
  const rule = slaRuleFor(dir, task.kind, task.priority);
  if (!rule) return undefined;
  const inHours = cal.people.length === 0 || isCalendarWorkingAt(cal, task.createdAt);
  const dueAt = afterWorking(cal, task.createdAt, inHours ? rule.withinMs : rule.outsideHoursMs);
  const timers: PlannedTimer[] = rule.escalation.map((e, i) => ({ step: i + 1, action: e.action, dueAt: afterWorking(cal, task.createdAt, e.afterMs), escalation: i }));
  timers.push({ step: rule.escalation.length + 1, action: 'breach', dueAt, escalation: null });
  return { rule, dueAt, inHours, timers };
}

/**
 * After the `reassign` step (index `fired`) moved the task at `now`: the later escalation steps,
 * re-planned on the new assignee's calendar, as far after `now` as they were after the reassign
 * step. The deadline (and its breach timer) does not move: the lead has been waiting since the
 * request. `firstStep` numbers the new timers (after the task's existing ones).
 */
export function replanAfterReassign(rule: SlaRule, fired: number, cal: WorkCalendar, now: DateTime, firstStep: number): PlannedTimer[] {
  const at = rule.escalation[fired];
  if (!at) return [];
  const later: { e: EscalationStep; i: number }[] = rule.escalation.map((e, i) => ({ e, i })).filter((x) => x.i > fired);
  return later.map((x, k) => ({ step: firstStep + k, action: x.e.action, dueAt: afterWorking(cal, now, x.e.afterMs - at.afterMs), escalation: x.i }));
}
