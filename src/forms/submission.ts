import type { z } from 'zod';
import { contactSchema } from '../sequences/event.js';
import type { NurtureEvent } from '../sequences/event.js';
import type { FormDefinition } from './form-config.js';

/**
 * What a form post means, decided without I/O: whether its origin may post the form, whether a
 * bot filled the honeypot, and the contact it gives (or the field that is wrong).
 */

export type GivenContact = z.output<typeof contactSchema>;

export type OriginCheck = { ok: true } | { ok: false; reason: string };

/**
 * Browsers send `Origin` with every cross-site POST (and with same-site ones too); `Referer` stands
 * in when a privacy setting dropped it. A post with neither is refused unless the form allows `*`.
 */
export function checkOrigin(form: Pick<FormDefinition, 'id' | 'origins'>, headers: { origin?: string | undefined; referer?: string | undefined }): OriginCheck {
  if (form.origins.includes('*')) return { ok: true };
  const given = headers.origin && headers.origin !== 'null' ? headers.origin : originOfUrl(headers.referer);
  if (!given) return { ok: false, reason: `form ${form.id} is only taken from ${form.origins.join(', ')}; the request names no origin` };
  const normal = given.toLowerCase().replace(/\/+$/, '');
  if (form.origins.some((o) => o.toLowerCase() === normal)) return { ok: true };
  return { ok: false, reason: `form ${form.id} is not taken from ${given} (allowed: ${form.origins.join(', ')})` };
}

function originOfUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

export type ReadSubmission =
  | { ok: true; honeypot: false; contact: GivenContact }
  /** A bot: the field people never see was filled. */
  | { ok: true; honeypot: true }
  | { ok: false; field: string; message: string };

/** The first value of a posted field (an HTML form may repeat a name); undefined when absent or blank. */
function single(body: Record<string, unknown>, name: string): { value: string | undefined } | { error: string } {
  const v = body[name];
  if (v === undefined || v === null) return { value: undefined };
  if (Array.isArray(v)) return { error: 'was given more than once' };
  if (typeof v === 'number' || typeof v === 'boolean') return { value: String(v) };
  if (typeof v !== 'string') return { error: 'must be text' };
  const t = v.trim();
  return { value: t === '' ? undefined : t };
}

/**
 * Reads a posted body against the form. Fields the form does not declare are ignored (submit
 * buttons, tracking parameters); declared ones are checked with the rules events have.
 */
export function readSubmission(form: FormDefinition, body: Record<string, unknown>): ReadSubmission {
  const hp = body[form.honeypot];
  if (hp !== undefined && hp !== null && !(typeof hp === 'string' && hp.trim() === '')) return { ok: true, honeypot: true };
  const email = single(body, 'email');
  if ('error' in email) return { ok: false, field: 'email', message: `email ${email.error}` };
  if (email.value === undefined) return { ok: false, field: 'email', message: 'email is required' };
  const contact: Record<string, unknown> = { email: email.value };
  const attributes: Record<string, unknown> = {};
  const fieldOf = new Map<string, string>([['email', 'email']]);
  for (const f of form.fields) {
    const got = single(body, f.name);
    if ('error' in got) return { ok: false, field: f.name, message: `${f.name} ${got.error}` };
    if (got.value === undefined) {
      if (f.required) return { ok: false, field: f.name, message: `${f.name} is required` };
      continue;
    }
    if (got.value.length > f.max) return { ok: false, field: f.name, message: `${f.name} is longer than ${f.max} characters` };
    if (f.target.kind === 'contact') {
      contact[f.target.field] = got.value;
      fieldOf.set(f.target.field, f.name);
    } else {
      attributes[f.target.name] = got.value;
      fieldOf.set(`attributes.${f.target.name}`, f.name);
    }
  }
  if (Object.keys(attributes).length > 0) contact['attributes'] = attributes;
  const parsed = contactSchema.safeParse(contact);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path.map(String).join('.');
    const field = fieldOf.get(key) ?? fieldOf.get(String(issue.path[0])) ?? key;
    const given = typeof contact[String(issue.path[0])] === 'string' ? `"${String(contact[String(issue.path[0])])}" ` : '';
    return { ok: false, field, message: `${field}: ${given}${issue.message}` };
  }
  return { ok: true, honeypot: false, contact: parsed.data };
}

/**
 * The opt_in event a form gives. `confirmed`: the address was confirmed by a click (double
 * opt-in); sequences that must only reach confirmed addresses say `where: { confirmed: true }`.
 */
export function formOptInEvent(o: { id: string; form: FormDefinition; contact: GivenContact; at: string; confirmed: boolean }): NurtureEvent {
  return {
    id: o.id,
    type: 'opt_in',
    occurredAt: o.at,
    contact: o.contact,
    data: { source: o.form.source, form: o.form.id, formVersion: o.form.version, confirmed: o.confirmed },
  };
}
