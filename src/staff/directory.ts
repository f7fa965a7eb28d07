import type { TaskKind } from '../db/schema.js';

/**
 * The team directory (team.yaml) as the rest of Nurture sees it: who works here, when, in which
 * teams, how tasks are assigned, the speed-to-lead SLAs and the declared task outcomes. Plain
 * data, parsed and checked by team-file.ts; pure functions over it live beside it (working hours,
 * assignment, SLAs).
 */

/** ISO weekday as luxon numbers it: 1 = Monday ... 7 = Sunday. */
export type IsoWeekday = 1 | 2 | 3 | 4 | 5 | 6 | 7;

/** Minutes after local midnight, [from, to): 09:00-17:00 is { from: 540, to: 1020 }. */
export interface TimeRange {
  from: number;
  to: number;
}

/** Working periods per weekday, in the user's own zone; a day with none is a day off. */
export type WeeklyHours = Readonly<Record<IsoWeekday, readonly TimeRange[]>>;

export interface StaffUser {
  /** Lower-cased; the key everywhere (tasks.assignee, staff_accounts.email). */
  email: string;
  name: string;
  /** IANA zone the hours are in. */
  zone: string;
  hours: WeeklyHours;
  teams: readonly string[];
  /** Open tasks the user may hold at once; null: no limit. */
  capacity: number | null;
}

export interface Team {
  name: string;
  /** A user's email: told when an SLA escalates that far. */
  manager: string | null;
  /** Local dates (YYYY-MM-DD) nobody of the team works, in each member's own zone. */
  holidays: readonly string[];
  /** Member emails, in the directory's order (round-robin goes in this order). */
  members: readonly string[];
}

/**
 * A rule's condition: every key must match. Keys: `kind`, `priority`, `title`, `sequence`,
 * `attributes.<name>`, `tags` (the contact has the tag), `timezone`; a value or a list of values.
 */
export type RuleMatch = Readonly<Record<string, string | readonly string[]>>;

export type RuleTarget =
  /** The contact's fixed owner, when it has one (and that user still exists). */
  | { kind: 'owner' }
  | { kind: 'user'; user: string }
  /** Round-robin among the team's members working now and under capacity. */
  | { kind: 'round_robin'; team: string }
  /** Left in the team's queue for a member to claim. */
  | { kind: 'queue'; team: string };

export interface AssignmentRule {
  name: string;
  when: RuleMatch;
  to: RuleTarget;
  /** Line in team.yaml, for reasons and messages. */
  line?: number | undefined;
}

export type EscalationAction = 'remind' | 'reassign' | 'notify_manager';

export interface EscalationStep {
  /** After the task was created (ms), counted in the assignee's working time. */
  afterMs: number;
  action: EscalationAction;
}

export interface SlaRule {
  kind: TaskKind | '*';
  priority: 'high' | 'normal' | '*';
  /** Within working hours: answer within this (ms). */
  withinMs: number;
  /** Made outside working hours: within this much of the next working period's start (ms). */
  outsideHoursMs: number;
  escalation: readonly EscalationStep[];
}

export interface TeamDirectory {
  file: string;
  users: readonly StaffUser[];
  teams: readonly Team[];
  rules: readonly AssignmentRule[];
  /** Who gets a task no rule placed; null: it stays unassigned (and is reported). */
  fallback: string | null;
  slas: readonly SlaRule[];
  /** Declared outcomes per task kind, beyond (or replacing) the built-in lists. */
  outcomes: Readonly<Record<string, readonly string[]>>;
}

export function findUser(dir: TeamDirectory, email: string): StaffUser | undefined {
  const key = email.trim().toLowerCase();
  return dir.users.find((u) => u.email === key);
}

export function findTeam(dir: TeamDirectory, name: string): Team | undefined {
  return dir.teams.find((t) => t.name === name);
}

/** The teams the user belongs to (by the user's own list). */
export function teamsOf(dir: TeamDirectory, email: string): readonly Team[] {
  const user = findUser(dir, email);
  if (!user) return [];
  return dir.teams.filter((t) => user.teams.includes(t.name));
}
