import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { FileProblem } from '../errors.js';
import { parseDuration } from '../sequences/duration.js';
import { SLUG, TEMPLATE_NAME } from '../sequences/names.js';
import { closestNames, didYouMean } from '../sequences/suggest.js';
import type { DurationSpec } from '../sequences/time-types.js';
import { canonicalJson } from '../sequences/event.js';
import { parseYamlDocument } from '../sequences/yaml-document.js';

/**
 * Hosted opt-in forms as declared in `forms.yaml`: which fields a form takes and where they go
 * on the contact, the origins allowed to post it, what the person agreed to (the wording kept
 * as proof of consent), and whether the opt-in waits for a confirmed address (double opt-in).
 * Pure: text in, forms or problems (file, line, field) out.
 */

/** Contact fields a form field may fill; anything else goes to `contact.attributes.<name>`. */
export const CONTACT_TARGETS = ['firstName', 'lastName', 'phone', 'timezone'] as const;
export type ContactTarget = (typeof CONTACT_TARGETS)[number];

const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const RESERVED_FIELDS = ['email'];
export const DEFAULT_HONEYPOT = 'nurture_hp';

const durationField = z.string().transform((s, ctx): DurationSpec => {
  const r = parseDuration(s);
  if (!r.ok) {
    ctx.addIssue({ code: 'custom', message: r.error });
    return z.NEVER;
  }
  return r.value;
});

const fieldSchema = z.union([
  z.enum(['required', 'optional']),
  z.strictObject({
    required: z.boolean().default(false),
    /** `firstName`, `lastName`, `phone`, `timezone`, or `attributes.<name>` (default: by the field's own name). */
    to: z
      .string()
      .regex(/^(firstName|lastName|phone|timezone|attributes\.[A-Za-z][A-Za-z0-9_-]{0,63})$/, 'must be firstName, lastName, phone, timezone or attributes.<name>')
      .optional(),
    max: z.number().int().min(1).max(10_000).default(500),
  }),
]);

const origin = z
  .string()
  .refine((s) => s === '*' || /^https?:\/\/[^/\s?#]+$/.test(s), 'is not an origin: scheme and host (and port) only, e.g. "https://www.example.com", or "*" for any');

const formSchema = z.strictObject({
  /** Recorded with every consent; default: a hash of the form's definition, so any edit makes a new version. */
  version: z.union([z.string().min(1).max(100), z.number()]).transform(String).optional(),
  /** `data.source` of the opt_in event: what sequences' `trigger.where.source` match. */
  source: z.string().min(1).max(100),
  /** The wording the person agrees to by sending the form, kept with its hash in the consent history. */
  consent: z.string().trim().min(1, 'is required: the text the person agrees to').max(10_000),
  fields: z.record(z.string(), fieldSchema).default({}),
  origins: z.array(origin).min(1, 'names no origin: list the sites the form is on, or "*"'),
  redirect: z.url({ protocol: /^https?$/, message: 'is not an http(s) URL' }).optional(),
  /** A field people leave empty and bots fill in. */
  honeypot: z.string().regex(FIELD_NAME, 'is not a field name').default(DEFAULT_HONEYPOT),
  double_opt_in: z
    .union([
      z.literal(false),
      z.strictObject({
        /** The template of the confirmation email (templates/<name>.hbs); `{{confirmUrl}}` is the link. */
        template: z.string().regex(TEMPLATE_NAME, 'is not a template name'),
        /** How long the link stays good (default NURTURE_CONFIRM_EXPIRY). */
        expires: durationField.optional(),
      }),
    ])
    .default(false),
});

const fileSchema = z.strictObject({
  forms: z.record(z.string(), formSchema).default({}),
});

export interface FormField {
  /** The name the form posts. */
  name: string;
  required: boolean;
  target: { kind: 'contact'; field: ContactTarget } | { kind: 'attribute'; name: string };
  max: number;
}

export interface FormDefinition {
  id: string;
  version: string;
  source: string;
  consent: string;
  /** sha256 hex of `consent`. */
  consentHash: string;
  fields: FormField[];
  origins: string[];
  redirect: string | undefined;
  honeypot: string;
  doubleOptIn: { template: string; expires: DurationSpec | undefined } | undefined;
}

export interface FormsFile {
  file: string;
  forms: ReadonlyMap<string, FormDefinition>;
  /** Line of a path inside the file, for problems found later (a missing template). */
  lineOf: (path: readonly PropertyKey[]) => number | undefined;
}

export type FormsParse = { ok: true; value: FormsFile } | { ok: false; problems: FileProblem[] };

export function wordingHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function targetOf(name: string, to: string | undefined): FormField['target'] {
  const t = to ?? name;
  if ((CONTACT_TARGETS as readonly string[]).includes(t)) return { kind: 'contact', field: t as ContactTarget };
  return { kind: 'attribute', name: t.startsWith('attributes.') ? t.slice('attributes.'.length) : t };
}

function formatPath(p: readonly PropertyKey[]): string {
  return p.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join('');
}

/** Parses and checks a forms file; `text` undefined means the file does not exist: no forms. */
export function parseForms(text: string | undefined, file: string): FormsParse {
  if (text === undefined) return { ok: true, value: { file, forms: new Map(), lineOf: () => undefined } };
  const doc = parseYamlDocument(text, file);
  if (!doc.ok) return { ok: false, problems: doc.problems };
  const problem = (p: readonly PropertyKey[], message: string): FileProblem => ({ file, path: formatPath(p), line: doc.lineOf(p), message, severity: 'error' });
  const raw = doc.value ?? {};
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.flatMap((i) => issueProblems(i, raw, problem));
    problems.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
    return { ok: false, problems };
  }
  const forms = new Map<string, FormDefinition>();
  const problems: FileProblem[] = [];
  for (const [id, f] of Object.entries(parsed.data.forms)) {
    if (!SLUG.test(id)) problems.push(problem(['forms', id], `"${id}" is not a form id: lower-case letters, digits, "-" and "_"`));
    const fields: FormField[] = [];
    const targets = new Set<string>();
    for (const [name, spec] of Object.entries(f.fields)) {
      const at = ['forms', id, 'fields', name];
      if (!FIELD_NAME.test(name)) problems.push(problem(at, `"${name}" is not a field name: a letter, then letters, digits, "_" or "-"`));
      if (RESERVED_FIELDS.includes(name)) problems.push(problem(at, 'email is always taken and always required: leave it out of fields'));
      if (name === f.honeypot) problems.push(problem(at, `"${name}" is the form's honeypot field: it must stay empty, so it cannot be a field`));
      const s = typeof spec === 'string' ? { required: spec === 'required', to: undefined, max: 500 } : spec;
      const target = targetOf(name, s.to);
      const key = target.kind === 'contact' ? target.field : `attributes.${target.name}`;
      if (targets.has(key)) problems.push(problem(at, `a second field fills ${key}`));
      targets.add(key);
      fields.push({ name, required: s.required, target, max: s.max });
    }
    const definition: Omit<FormDefinition, 'version'> = {
      id,
      source: f.source,
      consent: f.consent,
      consentHash: wordingHash(f.consent),
      fields,
      origins: f.origins,
      redirect: f.redirect,
      honeypot: f.honeypot,
      doubleOptIn: f.double_opt_in === false ? undefined : { template: f.double_opt_in.template, expires: f.double_opt_in.expires },
    };
    const version = f.version ?? createHash('sha256').update(canonicalJson(definition)).digest('hex').slice(0, 12);
    forms.set(id, { ...definition, version });
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: { file, forms, lineOf: doc.lineOf } };
}

type Issue = z.core.$ZodIssue;

function valueAt(raw: unknown, p: readonly PropertyKey[]): unknown {
  let v = raw;
  for (const k of p) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

const KNOWN_KEYS: Record<string, readonly string[]> = {
  file: Object.keys(fileSchema.shape),
  form: Object.keys(formSchema.shape),
  double_opt_in: ['template', 'expires'],
  field: ['required', 'to', 'max'],
};

function knownKeysAt(p: readonly PropertyKey[]): readonly string[] {
  if (p.length === 0) return KNOWN_KEYS.file!;
  if (p.length === 2) return KNOWN_KEYS.form!;
  if (p[2] === 'double_opt_in') return KNOWN_KEYS.double_opt_in!;
  return KNOWN_KEYS.field!;
}

function issueProblems(issue: Issue, raw: unknown, problem: (p: readonly PropertyKey[], m: string) => FileProblem): FileProblem[] {
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(issue.path);
    return issue.keys.map((k) => problem([...issue.path, k], `unknown field "${k}"${didYouMean(closestNames(k, known))}`));
  }
  if (issue.code === 'invalid_union') {
    // The branch that got furthest says what is wrong; a union of a word and a map otherwise says little.
    const best = [...issue.errors].sort((a, b) => Math.max(0, ...b.map((i) => i.path.length)) - Math.max(0, ...a.map((i) => i.path.length)))[0];
    const deep = best?.filter((i) => i.path.length > 0 || i.code === 'unrecognized_keys') ?? [];
    if (deep.length > 0) return deep.flatMap((i) => issueProblems({ ...i, path: [...issue.path, ...i.path] } as Issue, raw, problem));
    const given = valueAt(raw, issue.path);
    const shown = given === undefined ? '' : `${JSON.stringify(given)} `;
    const what =
      issue.path[2] === 'double_opt_in' ? 'is not false or { template: NAME, expires?: DURATION }' : 'is not "required", "optional" or { required, to, max }';
    return [problem(issue.path, `${shown}${what}`)];
  }
  const given = valueAt(raw, issue.path);
  if (given === undefined && issue.code === 'invalid_type') return [problem(issue.path, 'is required')];
  const shown = typeof given === 'string' ? `"${given}" ` : '';
  return [problem(issue.path, `${shown}${issue.message}`)];
}
