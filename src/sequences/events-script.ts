import { DateTime } from 'luxon';
import { parseYamlDocument } from './yaml-document.js';
import { z } from 'zod';
import type { FileProblem } from '../errors.js';
import { parseDuration } from './duration.js';
import { formatPath } from './load.js';
import type { Program } from './program.js';
import type { Condition } from './schema.js';
import { BUILT_IN_EVENTS } from './schema.js';
import type { ScriptedEvent } from './simulate.js';
import { addDuration, atLocalTime, parseTimeOfDay } from './time-rules.js';
import type { TimeContext } from './time-types.js';
import { EVENT_TYPE } from './names.js';

/**
 * Events scripts for `nurture preview`: what a simulated contact does, relative to the start of
 * the enrollment. Pure: the caller reads the file. A script is a YAML list whose items are either
 *
 *   - "day 3: email_clicked on buyers-guide"     N days after the start, at the start's local time
 *   - "day 20 14:30: appointment_requested"      N days after the start, at 14:30 local time
 *   - "+2 hours: email_opened on welcome"        a duration after the start (as in waits)
 *   - "2026-12-01T09:00: page_visited"           an ISO date and time, read in the contact's zone
 *   - { at: "day 3", event: email_clicked, on: buyers-guide, data: { url: "..." } }
 *
 * Unquoted, `- day 3: email_clicked on buyers-guide` is a one-key map in YAML; it means the same.
 * `on` names the email step an open or click refers to.
 */

export interface EventsScriptOptions {
  program: Program;
  /** The enrollment's start, in the contact's zone. */
  start: DateTime;
  /** The contact's zone: "day N" and ISO times without an offset are local to it. */
  zone: string;
  /** How the script is named in problems (default "events script"). */
  file?: string | undefined;
  /** Event types that mean something besides the built-in ones and the sequence's own (e.g. promotion rules). */
  knownEvents?: readonly string[] | undefined;
}

export interface EventsScriptResult {
  events: ScriptedEvent[];
  /** Errors make `events` unusable; warnings (an event nothing listens for) do not. */
  problems: FileProblem[];
}

export const SCRIPT_TIME_HINT = 'write "day 3", "day 3 09:30", "+2 hours" or an ISO instant';
const ITEM_HINT = 'an event is written "day 3: email_clicked on buyers-guide" or as a map with at, event, on and data';
const LINE = /^(.*?):\s+(.*)$/s;
const EVENT_TEXT = /^(\S+)(?:\s+on\s+(\S+))?$/;

type TimeResult = { ok: true; at: DateTime } | { ok: false; error: string };

/** When a script time falls, for an enrollment that started at `start` (in `ctx.zone`). */
export function parseScriptTime(raw: string, start: DateTime, ctx: TimeContext): TimeResult {
  const text = raw.trim();
  const local = start.setZone(ctx.zone);
  const notATime = (): TimeResult => ({ ok: false, error: `"${text}" is not a time: ${SCRIPT_TIME_HINT}` });
  let at: DateTime;
  const day = /^day\s+(\d{1,5})(?:\s+(?:at\s+)?(\S+))?$/i.exec(text);
  if (day) {
    const days = Number(day[1]);
    at = addDuration(local, { kind: 'calendar', parts: { days }, text: `${days} days` }, ctx);
    if (day[2] !== undefined) {
      const t = parseTimeOfDay(day[2]);
      if (!t) return { ok: false, error: `"${text}": "${day[2]}" is not a time of day (write "HH:MM", e.g. "day 3 09:30")` };
      at = atLocalTime(at, t, ctx);
    }
  } else if (text.startsWith('+')) {
    const d = parseDuration(text.slice(1));
    if (!d.ok) return { ok: false, error: `"${text}" is not a time: ${d.error}` };
    at = addDuration(local, d.value, ctx);
  } else if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const iso = DateTime.fromISO(text, { zone: ctx.zone });
    if (!iso.isValid) {
      return { ok: false, error: `"${text}" is not a valid ISO date and time (e.g. "2026-12-01T09:00", read in ${ctx.zone})` };
    }
    at = iso.setZone(ctx.zone);
  } else {
    return notATime();
  }
  if (at < local) {
    return { ok: false, error: `"${text}" is ${at.toFormat('ccc d LLL yyyy HH:mm')}, before the enrollment starts (${local.toFormat('ccc d LLL yyyy HH:mm')})` };
  }
  return { ok: true, at };
}

/** Turns the short forms into `{ at, event, on? }` maps; null when the item has no recognisable shape. */
function normalise(item: unknown): Record<string, unknown> | null {
  const fromText = (at: string, rest: string): Record<string, unknown> => {
    const m = EVENT_TEXT.exec(rest.trim());
    return m ? { at, event: m[1], ...(m[2] !== undefined ? { on: m[2] } : {}) } : { at, event: rest.trim() };
  };
  if (typeof item === 'string') {
    const m = LINE.exec(item.trim());
    return m ? fromText(m[1]!.trim(), m[2]!) : null;
  }
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return null;
  const map = item as Record<string, unknown>;
  if ('at' in map || 'event' in map) return map;
  const keys = Object.keys(map);
  if (keys.length !== 1) return null;
  const at = keys[0]!;
  const value = map[at];
  if (typeof value === 'string') return fromText(at, value);
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return { at, ...(value as Record<string, unknown>) };
  return { at, event: value };
}

/** Every event type the sequence itself reacts to: triggers, exits, goals, waits and conditions. */
export function eventsOfProgram(program: Program): Set<string> {
  const out = new Set<string>();
  const def = program.definition;
  for (const m of [...def.trigger, ...def.goals]) out.add(m.event);
  for (const e of def.exit) if ('event' in e) out.add(e.event);
  const visit = (c: Condition): void => {
    if ('all' in c) c.all.forEach(visit);
    else if ('any' in c) c.any.forEach(visit);
    else if ('not' in c) visit(c.not);
    else if ('event' in c) out.add(c.event);
  };
  for (const ins of program.instructions) {
    if (ins.op === 'wait_for') out.add(ins.matcher.event);
    if (ins.op === 'branch') visit(ins.condition);
  }
  return out;
}

/** Validates an already-parsed script; `lineOf` maps a path to its line when the source is YAML. */
export function parseEventsScript(
  raw: unknown,
  o: EventsScriptOptions,
  lineOf: (p: readonly PropertyKey[]) => number | undefined = () => undefined,
): EventsScriptResult {
  const file = o.file ?? 'events script';
  const problems: FileProblem[] = [];
  const report = (p: readonly PropertyKey[], message: string, severity: 'error' | 'warning' = 'error'): void => {
    problems.push({ file, path: formatPath(p), line: lineOf(p), message, severity });
  };
  if (raw === null || raw === undefined) return { events: [], problems };
  if (!Array.isArray(raw)) {
    report([], `an events script is a list, e.g.\n  - "day 3: email_clicked on buyers-guide"\n  - "day 20: appointment_requested"`);
    return { events: [], problems };
  }

  const ctx: TimeContext = { zone: o.zone, holidays: new Set(o.program.definition.holidays) };
  const emailSteps = [...o.program.emailSteps];
  const known = new Set<string>([...BUILT_IN_EVENTS, ...eventsOfProgram(o.program), ...(o.knownEvents ?? [])]);
  const item = z.strictObject({
    at: z.unknown().transform((v, c): DateTime => {
      if (v === undefined || v === null) {
        c.addIssue({ code: 'custom', message: `is required (${SCRIPT_TIME_HINT})` });
        return z.NEVER;
      }
      const r = typeof v === 'string' || typeof v === 'number' ? parseScriptTime(String(v), o.start, ctx) : null;
      if (!r?.ok) {
        c.addIssue({ code: 'custom', message: r ? r.error : `is not a time: ${SCRIPT_TIME_HINT}` });
        return z.NEVER;
      }
      return r.at;
    }),
    event: z.string().superRefine((s, c) => {
      if (!EVENT_TYPE.test(s)) {
        c.addIssue({ code: 'custom', message: `"${s}" is not an event: write a type like "email_clicked", then "on STEP" for the email it refers to` });
      }
    }),
    on: z
      .string()
      .superRefine((s, c) => {
        if (!o.program.emailSteps.has(s)) {
          c.addIssue({ code: 'custom', message: `"${s}" is not an email step of ${o.program.sequenceId} (email steps: ${emailSteps.join(', ') || 'none'})` });
        }
      })
      .optional(),
    data: z.record(z.string(), z.unknown()).optional(),
  });

  const events: ScriptedEvent[] = [];
  raw.forEach((entry, i) => {
    const value = normalise(entry);
    if (!value) return report([i], ITEM_HINT);
    const parsed = item.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const p = [i, ...issue.path];
        if (issue.code === 'unrecognized_keys') issue.keys.forEach((k) => report([...p, k], `unknown field "${k}" (use at, event, on, data)`));
        else if (issue.code === 'invalid_type' && issue.message.includes('received undefined')) report(p, 'is required');
        else report(p, issue.message);
      }
      return;
    }
    const e = parsed.data;
    if (!known.has(e.event)) {
      report([i, 'event'], `"${e.event}" is neither a built-in event nor one ${o.program.sequenceId} listens for: it will change nothing`, 'warning');
    }
    events.push({ at: e.at, type: e.event, ...(e.on !== undefined ? { step: e.on } : {}), ...(e.data !== undefined ? { data: e.data } : {}) });
  });
  return { events, problems };
}

/** Parses the YAML text of a script, with line numbers in its problems. */
export function parseEventsScriptText(text: string, o: EventsScriptOptions): EventsScriptResult {
  const doc = parseYamlDocument(text, o.file ?? 'events script');
  return doc.ok ? parseEventsScript(doc.value, o, doc.lineOf) : { events: [], problems: doc.problems };
}
