/**
 * The names a template sees. Namespaced: `contact.*`, `sender.*`, `links.*`, `touch.*`,
 * `sequence.*`; and, so templates written before the namespaces keep working, the contact's
 * fields by their flat names (`firstName`, `email`, ...). Pure: `now` and every value come in.
 */
import type { DateTime } from 'luxon';
import addressparser from 'nodemailer/lib/addressparser';
import type { Contact, PostalAddress, TemplateContext } from '../sequences/contact.js';
import { templateContextOf } from '../sequences/contact.js';
import type { StandardLinks } from '../security/message-links.js';

export interface ContactVars {
  email: string;
  firstName: string | null;
  lastName: string | null;
  /** First and last name joined, when either is known. */
  fullName: string | null;
  phone: string | null;
  address: PostalAddress | null;
  attributes: Record<string, unknown>;
  tags: string[];
  /** The zone dates are shown in: the contact's own, else the sequence's, else NURTURE_DEFAULT_TIMEZONE. */
  timezone: string;
}

export interface SenderVars {
  /** The display name of NURTURE_FROM ("" when it has none). */
  name: string;
  email: string;
}

export interface TouchVars {
  id: string;
  /** The step id of the email in its sequence. */
  step: string;
  template: string;
  /** When the message is rendered for sending (ISO instant), for `{{date touch.sentAt}}`. */
  sentAt: string;
}

export interface SequenceVars {
  id: string;
  name: string | null;
}

/** What templates are rendered with: the flat names and the namespaces. */
export interface RenderContext extends TemplateContext {
  contact: ContactVars;
  sender: SenderVars;
  links: StandardLinks;
  touch: TouchVars;
  /** Absent for a message that belongs to no sequence (`nurture send-test`). */
  sequence: SequenceVars | null;
}

export interface RenderContextInput {
  contact: Contact;
  links: StandardLinks;
  touch: { id: string; stepId: string; template: string };
  sequence?: { id: string; name?: string | undefined; timezone?: string | undefined } | null | undefined;
  /** NURTURE_FROM, e.g. `Acme <hello@acme.example>`. */
  from: string;
  now: DateTime;
  defaultZone: string;
}

export function renderContext(i: RenderContextInput): RenderContext {
  const c = i.contact;
  const fullName = [c.firstName, c.lastName].filter((x): x is string => !!x && x.trim() !== '').join(' ');
  return {
    ...templateContextOf(c),
    contact: {
      email: c.email,
      firstName: c.firstName,
      lastName: c.lastName,
      fullName: fullName === '' ? null : fullName,
      phone: c.phone,
      address: c.address,
      attributes: c.attributes,
      tags: c.tags,
      timezone: c.timezone ?? i.sequence?.timezone ?? i.defaultZone,
    },
    sender: senderOf(i.from),
    links: i.links,
    touch: { id: i.touch.id, step: i.touch.stepId, template: i.touch.template, sentAt: i.now.toUTC().toISO()! },
    sequence: i.sequence ? { id: i.sequence.id, name: i.sequence.name ?? null } : null,
  };
}

/** The last From parsed: it is the one NURTURE_FROM for every message, and parsing it was a third of a render's context. */
let lastSender: { from: string; vars: Readonly<SenderVars> } | undefined;

export function senderOf(from: string): SenderVars {
  if (lastSender?.from === from) return lastSender.vars;
  const [first] = addressparser(from) as { name?: string; address?: string }[];
  const vars = Object.freeze({ name: first?.name ?? '', email: first?.address ?? from });
  lastSender = { from, vars };
  return vars;
}

/** How sure a variable is to be present, and what it holds, for `nurture validate`. */
export interface VariableSpec {
  presence: 'always' | 'optional';
  /** Known fields; `any`: a free-form object (attributes) whose every field may be missing. */
  fields?: Readonly<Record<string, VariableSpec>> | 'any';
  /** A list of strings (`{{#each tags}}` gives the tag itself). */
  tags?: true;
}

const always = (fields?: VariableSpec['fields']): VariableSpec => (fields ? { presence: 'always', fields } : { presence: 'always' });
const optional = (fields?: VariableSpec['fields']): VariableSpec => (fields ? { presence: 'optional', fields } : { presence: 'optional' });

const ADDRESS: Record<keyof PostalAddress, VariableSpec> = {
  line1: always(),
  line2: optional(),
  city: always(),
  region: optional(),
  postalCode: always(),
  country: always(),
};

/** The contact's fields, flat (`firstName`) or under `contact.` (`contact.firstName`). */
const CONTACT_FIELDS: Record<string, VariableSpec> = {
  email: always(),
  firstName: optional(),
  lastName: optional(),
  phone: optional(),
  address: optional(ADDRESS),
  attributes: optional('any'),
  tags: { presence: 'always', tags: true, fields: { length: always() } },
};

/** Every root name a template may use, with what is below it. */
export const TEMPLATE_VARIABLES: Readonly<Record<string, VariableSpec>> = {
  contact: always({ ...CONTACT_FIELDS, fullName: optional(), timezone: always() }),
  sender: always({ name: optional(), email: always() }),
  links: always({ unsubscribe: always(), preferences: always(), view: always() }),
  touch: always({ id: always(), step: always(), template: always(), sentAt: always() }),
  sequence: optional({ id: always(), name: optional() }),
  ...CONTACT_FIELDS,
};

/** In a layout, `{{{body}}}` is the message the layout wraps. */
export const LAYOUT_VARIABLES: Readonly<Record<string, VariableSpec>> = { ...TEMPLATE_VARIABLES, body: always() };
