import { z } from 'zod';
import type { FileProblem } from '../errors.js';
import { parseDuration } from '../sequences/duration.js';
import { formatPath } from '../sequences/load.js';
import { closestNames, didYouMean } from '../sequences/suggest.js';
import { parseYamlDocument } from '../sequences/yaml-document.js';
import { isValidZone } from '../sequences/zones.js';
import type { AssignmentRule, IsoWeekday, RuleTarget, SlaRule, StaffUser, Team, TeamDirectory, TimeRange, WeeklyHours } from './directory.js';

/**
 * team.yaml: the people who work tasks, their hours and teams, how tasks are assigned, the
 * speed-to-lead SLAs and any declared outcomes. Pure: text in, a TeamDirectory or problems
 * (file, line, field, the value given) out, like sequences and forms.
 */

const DAY_NAMES: Readonly<Record<string, IsoWeekday>> = { mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6, sun: 7 };
const DAY_KEYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun', 'weekdays', 'weekends', 'mon-fri', 'daily'];
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TASK_KINDS = ['postcard', 'letter', 'call', 'notice'] as const;

/** The default SLA when team.yaml names none: a promoted lead's call in 5 minutes, else the first 15 of the next working period. */
export const DEFAULT_SLAS: readonly SlaRule[] = [
  {
    kind: 'call',
    priority: 'high',
    withinMs: 5 * 60_000,
    outsideHoursMs: 15 * 60_000,
    escalation: [
      { afterMs: 3 * 60_000, action: 'remind' },
      { afterMs: 5 * 60_000, action: 'reassign' },
      { afterMs: 15 * 60_000, action: 'notify_manager' },
    ],
  },
];

const durationMs = z.string().transform((s, ctx): number => {
  const r = parseDuration(s);
  if (!r.ok) {
    ctx.addIssue({ code: 'custom', message: r.error });
    return z.NEVER;
  }
  if (r.value.kind !== 'calendar' || r.value.parts.years || r.value.parts.months) {
    ctx.addIssue({ code: 'custom', message: 'must be a fixed length (seconds, minutes, hours, days, weeks)' });
    return z.NEVER;
  }
  const p = r.value.parts;
  return (((((p.weeks ?? 0) * 7 + (p.days ?? 0)) * 24 + (p.hours ?? 0)) * 60 + (p.minutes ?? 0)) * 60 + (p.seconds ?? 0)) * 1000;
});

const hoursText = z.union([z.string(), z.array(z.string())]);
const hoursSchema = z.record(z.string(), hoursText);

const userSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  zone: z.string().optional(),
  hours: hoursSchema.optional(),
  teams: z.array(z.string()).default([]),
  capacity: z.number().int().min(1).max(100_000).nullable().default(null),
});

const teamSchema = z.strictObject({
  manager: z.string().optional(),
  holidays: z.array(z.string().regex(DATE, 'is not a date (YYYY-MM-DD)')).default([]),
});

const oneOrMany = z.union([z.string(), z.array(z.string()).min(1)]);
const targetSchema = z.union([
  z.literal('owner'),
  z.strictObject({ user: z.string() }),
  z.strictObject({ round_robin: z.string() }),
  z.strictObject({ queue: z.string() }),
]);
const ruleSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  when: z.record(z.string(), oneOrMany).default({}),
  to: targetSchema,
});

const stepSchema = z.strictObject({ after: durationMs, action: z.enum(['remind', 'reassign', 'notify_manager']) });
const slaSchema = z.strictObject({
  kind: z.enum([...TASK_KINDS, '*']).default('*'),
  priority: z.enum(['high', 'normal', '*']).default('*'),
  within: durationMs,
  outside_hours: durationMs.optional(),
  escalation: z.array(stepSchema).default([]),
});

const fileSchema = z.strictObject({
  zone: z.string().optional(),
  hours: hoursSchema.optional(),
  teams: z.record(z.string(), teamSchema.nullable()).default({}),
  users: z.record(z.string(), userSchema).default({}),
  assignment: z.array(ruleSchema).default([]),
  fallback: z.string().nullable().default(null),
  sla: z.array(slaSchema).optional(),
  outcomes: z.record(z.string(), z.array(z.string().regex(NAME, 'is not an outcome name: lower-case letters, digits, "_" or "-"')).min(1)).default({}),
});

const RULE_KEYS = /^(kind|priority|title|sequence|tags|timezone|attributes\.[A-Za-z][A-Za-z0-9_-]{0,63})$/;

export type TeamParse = { ok: true; value: TeamDirectory } | { ok: false; problems: FileProblem[] };

/** "09:00-17:00", "09:00-12:00, 13:00-17:00", "off": the periods of one day. */
export function parseDayHours(text: string): { ok: true; value: TimeRange[] } | { ok: false; error: string } {
  const t = text.trim().toLowerCase();
  if (t === 'off' || t === '') return { ok: true, value: [] };
  const ranges: TimeRange[] = [];
  for (const part of t.split(',')) {
    const m = /^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$/.exec(part);
    if (!m) return { ok: false, error: `"${part.trim()}" is not a period like 09:00-17:00` };
    const from = Number(m[1]) * 60 + Number(m[2]);
    const to = Number(m[3]) * 60 + Number(m[4]);
    if (Number(m[2]) > 59 || Number(m[4]) > 59 || from > 24 * 60 || to > 24 * 60) return { ok: false, error: `"${part.trim()}" is not a time of day` };
    if (to <= from) return { ok: false, error: `"${part.trim()}" ends before it starts (a period past midnight is two: 22:00-24:00 and 00:00-06:00 the next day)` };
    ranges.push({ from, to });
  }
  ranges.sort((a, b) => a.from - b.from);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i]!.from < ranges[i - 1]!.to) return { ok: false, error: `"${text}" has overlapping periods` };
  }
  return { ok: true, value: ranges };
}

function daysOfKey(key: string): IsoWeekday[] | undefined {
  const k = key.trim().toLowerCase();
  if (k === 'weekdays' || k === 'mon-fri') return [1, 2, 3, 4, 5];
  if (k === 'weekends') return [6, 7];
  if (k === 'daily') return [1, 2, 3, 4, 5, 6, 7];
  const one = DAY_NAMES[k];
  return one ? [one] : undefined;
}

export const DEFAULT_HOURS: WeeklyHours = { 1: [{ from: 540, to: 1020 }], 2: [{ from: 540, to: 1020 }], 3: [{ from: 540, to: 1020 }], 4: [{ from: 540, to: 1020 }], 5: [{ from: 540, to: 1020 }], 6: [], 7: [] };

/** Parses and checks team.yaml; `text` undefined (no file) means no directory at all. */
export function parseTeamDirectory(text: string | undefined, file: string): TeamParse | { ok: true; value: undefined } {
  if (text === undefined) return { ok: true, value: undefined };
  const doc = parseYamlDocument(text, file);
  if (!doc.ok) return { ok: false, problems: doc.problems };
  const problems: FileProblem[] = [];
  const problem = (p: readonly PropertyKey[], message: string) => problems.push({ file, path: formatPath(p), line: doc.lineOf(p), message, severity: 'error' });
  const raw = doc.value ?? {};
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const given = valueAt(raw, issue.path);
      if (issue.code === 'unrecognized_keys') {
        for (const k of issue.keys) problem([...issue.path, k], `unknown field "${k}"${didYouMean(closestNames(k, knownKeys(issue.path)))}`);
      } else if (given === undefined && issue.code === 'invalid_type') problem(issue.path, 'is required');
      else problem(issue.path, `${given !== undefined && typeof given !== 'object' ? `${JSON.stringify(given)} ` : ''}${issue.message}`);
    }
    problems.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
    return { ok: false, problems };
  }
  const f = parsed.data;

  const weekly = (spec: Record<string, string | string[]> | undefined, at: PropertyKey[], fallback: WeeklyHours): WeeklyHours => {
    if (!spec) return fallback;
    const out: Record<IsoWeekday, TimeRange[]> = { 1: [], 2: [], 3: [], 4: [], 5: [], 6: [], 7: [] };
    const seen = new Map<IsoWeekday, string>();
    for (const [key, value] of Object.entries(spec)) {
      const days = daysOfKey(key);
      if (!days) {
        problem([...at, key], `"${key}" is not a day: write mon ... sun, weekdays, weekends or daily${didYouMean(closestNames(key, DAY_KEYS))}`);
        continue;
      }
      const r = parseDayHours(Array.isArray(value) ? value.join(',') : value);
      if (!r.ok) {
        problem([...at, key], r.error);
        continue;
      }
      for (const d of days) {
        const before = seen.get(d);
        if (before !== undefined) problem([...at, key], `${key} repeats a day already given by ${before}`);
        seen.set(d, key);
        out[d] = r.value;
      }
    }
    return out;
  };

  const defaultZone = f.zone ?? 'UTC';
  if (f.zone !== undefined && !isValidZone(f.zone)) problem(['zone'], `"${f.zone}" is not an IANA time zone (e.g. America/New_York)`);
  const defaultHours = weekly(f.hours, ['hours'], DEFAULT_HOURS);

  const teamNames = Object.keys(f.teams);
  for (const name of teamNames) if (!NAME.test(name)) problem(['teams', name], `"${name}" is not a team name: lower-case letters, digits, "_" or "-"`);

  const users: StaffUser[] = [];
  const emails = new Set<string>();
  for (const [key, u] of Object.entries(f.users)) {
    const email = key.trim().toLowerCase();
    if (!EMAIL.test(email)) problem(['users', key], `"${key}" is not an email address (users are keyed by their email)`);
    if (emails.has(email)) problem(['users', key], `"${key}" is listed twice (emails are compared in lower case)`);
    emails.add(email);
    const zone = u.zone ?? defaultZone;
    if (u.zone !== undefined && !isValidZone(u.zone)) problem(['users', key, 'zone'], `"${u.zone}" is not an IANA time zone (e.g. America/New_York)`);
    u.teams.forEach((t, i) => {
      if (!teamNames.includes(t)) problem(['users', key, 'teams', i], `"${t}" is not a team of this file${didYouMean(closestNames(t, teamNames))}`);
    });
    users.push({ email, name: u.name, zone, hours: weekly(u.hours, ['users', key, 'hours'], defaultHours), teams: u.teams, capacity: u.capacity });
  }
  const userEmails = users.map((u) => u.email);
  const checkUser = (value: string, at: PropertyKey[]) => {
    if (!emails.has(value.trim().toLowerCase())) problem(at, `"${value}" is not a user of this file${didYouMean(closestNames(value, userEmails))}`);
  };
  const checkTeam = (value: string, at: PropertyKey[]) => {
    if (!teamNames.includes(value)) problem(at, `"${value}" is not a team of this file${didYouMean(closestNames(value, teamNames))}`);
  };

  const teams: Team[] = teamNames.map((name) => {
    const t = f.teams[name] ?? { holidays: [] };
    if (t.manager !== undefined) checkUser(t.manager, ['teams', name, 'manager']);
    return {
      name,
      manager: t.manager?.trim().toLowerCase() ?? null,
      holidays: t.holidays,
      members: users.filter((u) => u.teams.includes(name)).map((u) => u.email),
    };
  });

  const rules: AssignmentRule[] = f.assignment.map((r, i) => {
    for (const k of Object.keys(r.when)) {
      if (!RULE_KEYS.test(k)) problem(['assignment', i, 'when', k], `"${k}" is not a condition: use kind, priority, title, sequence, tags, timezone or attributes.<name>`);
    }
    let to: RuleTarget;
    if (r.to === 'owner') to = { kind: 'owner' };
    else if ('user' in r.to) {
      checkUser(r.to.user, ['assignment', i, 'to', 'user']);
      to = { kind: 'user', user: r.to.user.trim().toLowerCase() };
    } else if ('round_robin' in r.to) {
      checkTeam(r.to.round_robin, ['assignment', i, 'to', 'round_robin']);
      to = { kind: 'round_robin', team: r.to.round_robin };
    } else {
      checkTeam(r.to.queue, ['assignment', i, 'to', 'queue']);
      to = { kind: 'queue', team: r.to.queue };
    }
    return { name: r.name, when: r.when, to, line: doc.lineOf(['assignment', i]) };
  });
  if (f.fallback !== null) checkUser(f.fallback, ['fallback']);

  const slas: SlaRule[] = (f.sla ?? []).map((s) => ({
    kind: s.kind,
    priority: s.priority,
    withinMs: s.within,
    outsideHoursMs: s.outside_hours ?? s.within,
    escalation: [...s.escalation].map((e) => ({ afterMs: e.after, action: e.action })).sort((a, b) => a.afterMs - b.afterMs),
  }));

  if (problems.length > 0) {
    problems.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
    return { ok: false, problems };
  }
  return {
    ok: true,
    value: { file, users, teams, rules, fallback: f.fallback?.trim().toLowerCase() ?? null, slas: f.sla === undefined ? DEFAULT_SLAS : slas, outcomes: f.outcomes },
  };
}

function valueAt(raw: unknown, p: readonly PropertyKey[]): unknown {
  let v = raw;
  for (const k of p) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

function knownKeys(p: readonly PropertyKey[]): readonly string[] {
  if (p.length === 0) return Object.keys(fileSchema.shape);
  if (p[0] === 'users') return Object.keys(userSchema.shape);
  if (p[0] === 'teams') return Object.keys(teamSchema.shape);
  if (p[0] === 'assignment') return p.length > 2 ? ['user', 'round_robin', 'queue'] : Object.keys(ruleSchema.shape);
  if (p[0] === 'sla') return p.length > 2 ? ['after', 'action'] : Object.keys(slaSchema.shape);
  return [];
}
