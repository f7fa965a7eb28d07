import { DateTime } from 'luxon';
import { newContactFields } from '../sequences/contact.js';
import type { Config } from '../config.js';
import { ConfigError, SequenceError, TemplateError, formatProblem } from '../errors.js';
import type { FileProblem } from '../errors.js';
import type { Action } from '../sequences/advance.js';
import { timeContextFor } from '../sequences/advance.js';
import { assertNever } from '../sequences/compile.js';
import type { Contact } from '../sequences/contact.js';
import { renderContext } from '../templates/render-context.js';
import { contactSchema } from '../sequences/event.js';
import { parseEventsScript, parseEventsScriptText } from '../sequences/events-script.js';
import { formatPath, loadSequenceFile } from '../sequences/load.js';
import type { Program } from '../sequences/program.js';
import type { ScriptedEvent, Simulation } from '../sequences/simulate.js';
import { simulate } from '../sequences/simulate.js';
import { isValidZone } from '../sequences/zones.js';
import type { CompiledTemplate } from '../templates/compile.js';
import { TemplateCache } from '../templates/compile.js';

/**
 * `nurture preview FILE`: the whole life of one enrollment, simulated in memory with the real
 * `advance` (no Redis, no database), printed in the contact's zone with rendered subjects.
 */

export interface PreviewInput {
  /** Sequence file (.yaml, .yml, .ts, .js). */
  file: string;
  templatesDir: string;
  /** A contact in the shape of an event's `contact` (validated here); default: a sample contact. */
  contact?: unknown;
  /** How the contact is named in problems (e.g. its file). */
  contactName?: string | undefined;
  /** Overrides the contact's time zone. */
  zone?: string | undefined;
  /** An events script: the parsed list, or the YAML text of a file (for line numbers). */
  script?: unknown[] | { text: string; file: string } | undefined;
  /** Start of the enrollment: ISO 8601, read in the contact's zone; default now. */
  from?: string | DateTime | undefined;
  config: Pick<Config, 'defaultZone' | 'caps' | 'promotion'> & Partial<Pick<Config, 'from'>>;
}

export type PreviewEntryKind =
  | 'email' | 'postcard' | 'letter' | 'call' | 'notify' | 'tag' | 'set' | 'start' | 'skipped' | 'delay' | 'event' | 'end';

export interface PreviewEntry {
  /** ISO instant, with the contact's offset. */
  at: string;
  /** Local calendar days since the start (the start's date is day 0). */
  day: number;
  kind: PreviewEntryKind;
  step: string | null;
  template?: string;
  /** Rendered subject, for emails and mail pieces whose template could be rendered. */
  subject?: string;
  /** When a task is due, ISO. */
  due?: string;
  text: string;
}

export interface PreviewData {
  sequence: string;
  version: string;
  zone: string;
  from: string;
  contact: { email: string; firstName: string | null; lastName: string | null; phone: string | null; timezone: string; address: Contact['address']; attributes: Record<string, unknown> };
  entries: PreviewEntry[];
  outcome: Simulation['outcome'];
  reason: string | null;
  summary: { emails: number; postcards: number; letters: number; calls: number; notifications: number; events: number; delays: number; span: { days: number; text: string }; text: string };
  /** Template problems (the preview still ran) and warnings about the events script. */
  problems: FileProblem[];
}

/** Subjects are all a preview renders: the links in them stand for the signed ones. */
const PREVIEW_LINKS = { unsubscribe: 'https://nurture.invalid/u/preview', preferences: 'https://nurture.invalid/p/preview', view: 'https://nurture.invalid/v/preview' };

export const WHEN = 'ccc d LLL yyyy HH:mm';

export function sampleContact(timezone: string): Contact {
  return {
    id: 'preview',
    email: 'ann@example.com',
    firstName: 'Ann',
    lastName: 'Example',
    phone: '+1 312 555 0142',
    timezone,
    address: { line1: '1 Example Street', city: 'Springfield', region: 'IL', postalCode: '62701', country: 'US' },
    attributes: {},
    tags: [],
    score: 0,
    status: 'subscriber',
    unsubscribedAt: null,
    bouncedAt: null,
  };
}

/** A contact given as JSON (the shape of an event's `contact`), validated; problems name `name` and the field. */
export function contactOf(raw: unknown, name: string): Contact {
  const parsed = contactSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.flatMap((i) => {
      if (i.code === 'unrecognized_keys') return i.keys.map((k) => `${name}: ${formatPath([...i.path, k])}: unknown field "${k}"`);
      const missing = i.code === 'invalid_type' && i.message.includes('received undefined');
      return [`${name}: ${formatPath(i.path) || 'contact'}: ${missing ? 'is required' : i.message}`];
    });
    throw new ConfigError(lines.join('\n'));
  }
  const c = parsed.data;
  return {
    id: 'preview',
    ...newContactFields(c),
    score: 0,
    status: 'subscriber',
    unsubscribedAt: null,
    bouncedAt: null,
  };
}

function startOf(from: PreviewInput['from'], zone: string): DateTime {
  if (from === undefined) return DateTime.now().setZone(zone).startOf('minute');
  if (typeof from !== 'string') return from.setZone(zone);
  const at = DateTime.fromISO(from.trim(), { zone });
  if (!/^\d{4}-\d{2}-\d{2}/.test(from.trim()) || !at.isValid) {
    throw new ConfigError(`--from: "${from}" is not an ISO date and time (e.g. 2026-11-22T10:00, read in ${zone})`);
  }
  return at.setZone(zone);
}

/** Local calendar days from `a` to `b` (both in the same zone): DST days count as one day. */
function daysBetween(a: DateTime, b: DateTime): number {
  return Math.round((Date.UTC(b.year, b.month - 1, b.day) - Date.UTC(a.year, a.month - 1, a.day)) / 86_400_000);
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** "18 months 9 days", "20 days", "2 hours 30 minutes". */
export function spanText(start: DateTime, end: DateTime): string {
  const d = end.diff(start, ['months', 'days', 'hours', 'minutes']).toObject();
  const months = Math.floor(d.months ?? 0);
  const days = Math.floor(d.days ?? 0);
  if (months > 0 || days > 0) return [months ? plural(months, 'month') : '', days ? plural(days, 'day') : ''].filter(Boolean).join(' ');
  const hours = Math.floor(d.hours ?? 0);
  const minutes = Math.round(d.minutes ?? 0);
  return [hours ? plural(hours, 'hour') : '', minutes || !hours ? plural(minutes, 'minute') : ''].filter(Boolean).join(' ');
}

/** Loads every template the timeline uses once, up front; a broken one becomes problems, not a crash. */
async function loadTemplates(dir: string, names: readonly string[]): Promise<{ templates: Map<string, CompiledTemplate>; problems: FileProblem[] }> {
  const cache = new TemplateCache(dir);
  const templates = new Map<string, CompiledTemplate>();
  const problems: FileProblem[] = [];
  const loaded = await Promise.all(names.map((n) => cache.get(n).then((t) => ({ t }), (err: unknown) => ({ err }))));
  loaded.forEach((r, i) => {
    if ('t' in r) templates.set(names[i]!, r.t);
    else if (r.err instanceof TemplateError) problems.push(...r.err.problems);
    else throw r.err;
  });
  return { templates, problems };
}

export async function sequencePreview(input: PreviewInput): Promise<{ data: PreviewData; start: DateTime }> {
  let loaded: { program?: Program; problems: FileProblem[] };
  try {
    loaded = await loadSequenceFile(input.file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError(`${input.file}: ${e.code === 'ENOENT' ? 'no such sequence file' : e.message}`, { cause: err });
  }
  const program = loaded.program;
  if (!program) throw new SequenceError(loaded.problems);

  if (input.zone !== undefined && !isValidZone(input.zone)) {
    throw new ConfigError(`--zone: "${input.zone}" is not an IANA time zone (e.g. "America/Chicago")`);
  }
  const settings = { defaultZone: input.config.defaultZone, caps: input.config.caps };
  const base = input.contact === undefined ? sampleContact(program.definition.timezone ?? input.config.defaultZone) : contactOf(input.contact, input.contactName ?? 'contact');
  const contact: Contact = input.zone ? { ...base, timezone: input.zone } : base;
  const zone = timeContextFor(program, contact, settings).zone;
  const start = startOf(input.from, zone);

  const problems: FileProblem[] = [];
  let script: ScriptedEvent[] = [];
  if (input.script !== undefined) {
    const opts = { program, start, zone, knownEvents: input.config.promotion.onEvents };
    const r = Array.isArray(input.script) ? parseEventsScript(input.script, opts) : parseEventsScriptText(input.script.text, { ...opts, file: input.script.file });
    if (r.problems.some((p) => p.severity === 'error')) throw new ConfigError(r.problems.map(formatProblem).join('\n'));
    script = r.events;
    problems.push(...r.problems);
  }

  let sim: Simulation;
  try {
    sim = simulate(program, contact, start, script, settings, input.config.promotion);
  } catch (err) {
    throw new SequenceError([{ file: input.file, path: '', message: `the preview could not run: ${(err as Error).message}`, severity: 'error' }]);
  }

  const names = [...new Set(sim.timeline.flatMap((e) => (e.action && (e.action.kind === 'email' || e.action.kind === 'mail_task') ? [e.action.template] : [])))];
  const { templates, problems: templateProblems } = await loadTemplates(input.templatesDir, names);
  problems.push(...templateProblems);

  // Tag and set steps change the contact templates see: replay them, and render once per template and contact.
  let current = contact;
  let generation = 0;
  const rendered = new Map<string, string | undefined>();
  const subjectOf = (template: string): string | undefined => {
    const key = `${generation}\u0000${template}`;
    if (rendered.has(key)) return rendered.get(key);
    const t = templates.get(template);
    let subject: string | undefined;
    if (t) {
      try {
        subject = t.render(
          renderContext({
            contact: current,
            links: PREVIEW_LINKS,
            touch: { id: 'preview', stepId: 'preview', template },
            sequence: { id: program.sequenceId, name: program.definition.name, timezone: program.definition.timezone },
            from: input.config.from ?? 'Nurture <nurture@localhost>',
            now: start,
            defaultZone: input.config.defaultZone,
          }),
        ).subject;
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
        problems.push(...err.problems);
      }
    }
    rendered.set(key, subject);
    return subject;
  };
  const quoted = (template: string, subject: string | undefined): string =>
    subject === undefined ? `(template ${template} could not be rendered)` : subject === '' ? '(no subject)' : `"${subject}"`;
  const isoOf = (t: DateTime): string => t.toISO({ suppressMilliseconds: true })!;
  const dueText = (due: string): string => DateTime.fromISO(due, { zone }).toFormat(WHEN);

  const entryOf = (a: Action): Omit<PreviewEntry, 'at' | 'day'> => {
    switch (a.kind) {
      case 'email': {
        const subject = subjectOf(a.template);
        return { kind: 'email', step: a.stepId, template: a.template, ...(subject !== undefined ? { subject } : {}), text: quoted(a.template, subject) };
      }
      case 'mail_task': {
        const subject = subjectOf(a.template);
        return {
          kind: a.medium, step: a.stepId, template: a.template, ...(subject !== undefined ? { subject } : {}), due: isoOf(DateTime.fromISO(a.dueAt, { zone })),
          text: `${quoted(a.template, subject)}, task for staff due ${dueText(a.dueAt)}`,
        };
      }
      case 'call_task':
        return { kind: 'call', step: a.stepId, due: isoOf(DateTime.fromISO(a.dueAt, { zone })), text: `"${a.note}"${a.priority === 'high' ? ' [high priority]' : ''}, due ${dueText(a.dueAt)}` };
      case 'notify':
        return { kind: 'notify', step: a.stepId, text: `${a.note}${a.to ? ` (to ${a.to})` : ''}` };
      case 'tag':
        current = { ...current, tags: [...new Set([...current.tags.filter((t) => !a.remove.includes(t)), ...a.add])] };
        generation += 1;
        return { kind: 'tag', step: a.stepId, text: [...a.add.map((t) => `+${t}`), ...a.remove.map((t) => `-${t}`)].join(' ') };
      case 'set':
        current = { ...current, attributes: { ...current.attributes, ...a.values } };
        generation += 1;
        return { kind: 'set', step: a.stepId, text: Object.entries(a.values).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ') };
      case 'start':
        return { kind: 'start', step: a.stepId, text: `start sequence ${a.sequence}` };
      case 'skipped':
        if (a.medium) return { kind: 'skipped', step: a.stepId, text: `${a.medium} not made: the postal address came back (returned)` };
        return { kind: 'skipped', step: a.stepId, text: `email not sent: the contact ${a.reason === 'promoted' ? 'is a lead' : a.reason}` };
      default:
        return assertNever(a);
    }
  };

  const entries: PreviewEntry[] = sim.timeline.map((e, i) => {
    const at = e.at.setZone(zone);
    const common = { at: isoOf(at), day: daysBetween(start, at) };
    switch (e.kind) {
      case 'touch':
        return { ...common, ...entryOf(e.action!) };
      case 'event': {
        const ev = e.event!;
        const data = ev.data && Object.keys(ev.data).length ? ` ${JSON.stringify(ev.data)}` : '';
        return { ...common, kind: 'event', step: ev.step ?? null, text: `${ev.type}${data}` };
      }
      case 'delay': {
        // The email held back is the next one, unless the enrollment ends first.
        const later = sim.timeline.slice(i + 1).find((x) => x.kind === 'end' || x.action?.kind === 'email');
        const step = later?.action?.kind === 'email' ? later.action.stepId : null;
        return { ...common, kind: 'delay', step, text: e.text.replace(/^next touch /, '') };
      }
      case 'end':
        return { ...common, kind: 'end', step: null, text: e.text.replace(/^enrollment (\w+) \(\1\)$/, 'enrollment $1') };
      default:
        return assertNever(e.kind);
    }
  });

  const count = (k: PreviewEntryKind): number => entries.filter((e) => e.kind === k).length;
  const last = sim.timeline.at(-1)?.at.setZone(zone) ?? start;
  const span = { days: daysBetween(start, last), text: spanText(start, last) };
  const summary = {
    emails: count('email'),
    postcards: count('postcard'),
    letters: count('letter'),
    calls: count('call'),
    notifications: count('notify'),
    events: count('event'),
    delays: count('delay'),
    span,
    text: '',
  };
  summary.text = `${plural(summary.emails, 'email')}, ${plural(summary.postcards, 'postcard')}, ${plural(summary.letters, 'letter')}, ${plural(summary.calls, 'call')} over ${span.text}`;

  const data: PreviewData = {
    sequence: program.sequenceId,
    version: program.version,
    zone,
    from: isoOf(start),
    contact: { email: contact.email, firstName: contact.firstName, lastName: contact.lastName, phone: contact.phone, timezone: zone, address: contact.address, attributes: contact.attributes },
    entries,
    outcome: sim.outcome,
    reason: sim.reason,
    summary,
    problems,
  };
  return { data, start };
}

