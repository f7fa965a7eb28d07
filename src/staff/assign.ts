import type { DateTime } from 'luxon';
import type { TaskKind } from '../db/schema.js';
import type { AssignmentRule, RuleMatch, StaffUser, TeamDirectory } from './directory.js';
import { findTeam, findUser } from './directory.js';
import { holidaysOf, isWorkingAt, nextPeriodStart } from './working-hours.js';

/**
 * Who gets a task, and why: the rules of team.yaml in order, first match wins. Pure: the open
 * task counts (loads) and where each team's round-robin left off (cursors) are passed in, the
 * decision (with the cursor to store) comes out.
 */

export interface TaskFacts {
  kind: TaskKind;
  priority: 'normal' | 'high';
  title: string;
  /** The sequence that made it; null for a promotion's lead call. */
  sequence: string | null;
}

export interface ContactFacts {
  /** The fixed owner (contacts.owner), if any. */
  owner: string | null;
  attributes: Readonly<Record<string, unknown>>;
  tags: readonly string[];
  timezone: string | null;
}

export interface AssignInput {
  directory: TeamDirectory;
  task: TaskFacts;
  contact: ContactFacts;
  /** Open tasks per assignee email; absent: none. */
  loads: ReadonlyMap<string, number>;
  /** Per team, the last member round-robin chose (team_cursors). */
  cursors: ReadonlyMap<string, string>;
  now: DateTime;
}

export type AssignDecision =
  | {
      kind: 'assign';
      assignee: string;
      /** The team it is worked in (the round-robin's, else the assignee's first team). */
      team: string | null;
      rule: string | null;
      reason: string;
      /** Store as the team's cursor (round-robin only). */
      cursor?: { team: string; last: string } | undefined;
    }
  | { kind: 'queue'; team: string; rule: string | null; reason: string }
  | { kind: 'unassigned'; reason: string };

/** Whether a rule's conditions all hold for the task and the contact. Values compare case-insensitively. */
export function ruleMatches(when: RuleMatch, task: TaskFacts, contact: ContactFacts): boolean {
  for (const [key, expected] of Object.entries(when)) {
    const wanted = (typeof expected === 'string' ? [expected] : expected).map(norm);
    let actual: readonly unknown[];
    if (key === 'kind') actual = [task.kind];
    else if (key === 'priority') actual = [task.priority];
    else if (key === 'title') actual = [task.title];
    else if (key === 'sequence') actual = task.sequence === null ? [] : [task.sequence];
    else if (key === 'tags') actual = contact.tags;
    else if (key === 'timezone') actual = contact.timezone === null ? [] : [contact.timezone];
    else if (key.startsWith('attributes.')) {
      const v = contact.attributes[key.slice('attributes.'.length)];
      actual = Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
    } else return false;
    if (!actual.some((a) => (typeof a === 'string' || typeof a === 'number' || typeof a === 'boolean') && wanted.includes(norm(String(a))))) return false;
  }
  return true;
}

function norm(s: string): string {
  return s.trim().toLowerCase();
}

/** The first name, as reasons say it ("Bob at capacity"). */
function shortName(u: StaffUser): string {
  return u.name.split(/\s+/)[0] ?? u.email;
}

function underCapacity(u: StaffUser, loads: ReadonlyMap<string, number>): boolean {
  return u.capacity === null || (loads.get(u.email) ?? 0) < u.capacity;
}

export interface RoundRobin {
  /** The member chosen, or undefined: every member is at capacity (or the team has none). */
  chosen: StaffUser | undefined;
  reason: string;
}

/**
 * The next member after the cursor who works now and is under capacity; when nobody works now,
 * the one under capacity whose next working period starts first (the SLA then runs from it).
 * `exclude`: members never chosen (the assignee a reassignment moves the task away from).
 */
export function roundRobin(dir: TeamDirectory, team: string, loads: ReadonlyMap<string, number>, cursor: string | undefined, now: DateTime, exclude: readonly string[] = [], o: { workingOnly?: boolean } = {}): RoundRobin {
  const t = findTeam(dir, team);
  const members = (t?.members ?? []).map((e) => findUser(dir, e)).filter((u): u is StaffUser => u !== undefined);
  const at = cursor === undefined ? -1 : members.findIndex((m) => m.email === cursor);
  // The rotation starts just after the last one chosen.
  const order = members.map((_, i) => members[(at + 1 + i) % members.length]!);
  const notes: string[] = [];
  const excluded = (m: StaffUser) => exclude.includes(m.email);
  const full = (m: StaffUser) => !underCapacity(m, loads);
  const on = (m: StaffUser) => isWorkingAt(m, holidaysOf(dir, m), now);
  // Reasons list members in the directory's order; the choice goes in the rotation's.
  for (const m of members) {
    if (excluded(m)) notes.push(`${shortName(m)} has it now`);
    else if (full(m)) notes.push(`${shortName(m)} at capacity`);
    else if (!on(m)) notes.push(`${shortName(m)} off-hours`);
  }
  const free = order.filter((m) => !excluded(m) && !full(m));
  const working = free.filter(on);
  const tail = notes.length > 0 ? `, ${notes.join(', ')}` : '';
  const head = `round-robin in team ${team}, ${working.length} of ${members.length} available`;
  if (working.length > 0) return { chosen: working[0], reason: `${head}${tail}` };
  if (o.workingOnly || free.length === 0) return { chosen: undefined, reason: `${head}${tail}` };
  let best: { user: StaffUser; start: number } | undefined;
  for (const m of free) {
    const start = nextPeriodStart(m, holidaysOf(dir, m), now)?.start.toMillis() ?? Infinity;
    if (!best || start < best.start) best = { user: m, start };
  }
  return { chosen: best!.user, reason: `${head}${tail}; ${shortName(best!.user)} works first` };
}

function firstTeam(u: StaffUser): string | null {
  return u.teams[0] ?? null;
}

function target(rule: AssignmentRule, input: AssignInput): AssignDecision | undefined {
  const { directory: dir, contact } = input;
  const label = `rule "${rule.name}"${rule.line ? ` (line ${rule.line})` : ''}`;
  const to = rule.to;
  switch (to.kind) {
    case 'owner': {
      const owner = contact.owner === null ? undefined : findUser(dir, contact.owner);
      // No owner yet, or one who left the directory: the next rule decides.
      if (!owner) return undefined;
      return { kind: 'assign', assignee: owner.email, team: firstTeam(owner), rule: rule.name, reason: `${label}: the contact's owner ${owner.name}` };
    }
    case 'user': {
      const u = findUser(dir, to.user);
      if (!u) return undefined;
      return { kind: 'assign', assignee: u.email, team: firstTeam(u), rule: rule.name, reason: `${label}: ${u.name}` };
    }
    case 'round_robin': {
      const rr = roundRobin(dir, to.team, input.loads, input.cursors.get(to.team), input.now);
      if (!rr.chosen) return { kind: 'queue', team: to.team, rule: rule.name, reason: `${label}: ${rr.reason}; nobody under capacity, left in the team queue` };
      return { kind: 'assign', assignee: rr.chosen.email, team: to.team, rule: rule.name, reason: `${label}: ${rr.reason} → ${rr.chosen.name}`, cursor: { team: to.team, last: rr.chosen.email } };
    }
    case 'queue':
      return { kind: 'queue', team: to.team, rule: rule.name, reason: `${label}: left in team ${to.team}'s queue to be claimed` };
    default: {
      const never: never = to;
      throw new Error(`unknown assignment target ${JSON.stringify(never)}`);
    }
  }
}

/** The assignment decision for a new task: rules in order, first match wins, then the fallback owner. */
export function decideAssignment(input: AssignInput): AssignDecision {
  const { directory: dir } = input;
  for (const rule of dir.rules) {
    if (!ruleMatches(rule.when, input.task, input.contact)) continue;
    const d = target(rule, input);
    if (d) return d;
  }
  const fallback = dir.fallback === null ? undefined : findUser(dir, dir.fallback);
  if (fallback) return { kind: 'assign', assignee: fallback.email, team: firstTeam(fallback), rule: null, reason: `no rule matched: the fallback owner ${fallback.name}` };
  return { kind: 'unassigned', reason: 'no rule matched and team.yaml names no fallback owner' };
}

export type ReassignDecision =
  | { kind: 'reassign'; assignee: string; team: string; reason: string; cursor: { team: string; last: string } }
  | { kind: 'keep'; reason: string };

/**
 * The SLA's `reassign` step: the next member of the task's team who works now and is under
 * capacity, never the current assignee. Nobody such: the task stays where it is.
 */
export function decideReassignment(input: { directory: TeamDirectory; team: string | null; current: string | null; loads: ReadonlyMap<string, number>; cursors: ReadonlyMap<string, string>; now: DateTime }): ReassignDecision {
  const { directory: dir } = input;
  const team = input.team ?? (input.current === null ? undefined : findUser(dir, input.current)?.teams[0]);
  if (team === undefined) return { kind: 'keep', reason: 'reassign: the task has no team to pick another rep from' };
  const rr = roundRobin(dir, team, input.loads, input.cursors.get(team), input.now, input.current === null ? [] : [input.current], { workingOnly: true });
  if (!rr.chosen) return { kind: 'keep', reason: `reassign: ${rr.reason}; nobody else to take it` };
  return { kind: 'reassign', assignee: rr.chosen.email, team, reason: `SLA reassign: ${rr.reason} → ${rr.chosen.name}`, cursor: { team, last: rr.chosen.email } };
}
