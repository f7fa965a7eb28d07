import { stringify } from 'csv-stringify/sync';
import { z } from 'zod';

/**
 * One postcard or letter of a mail run, as a print-and-mail vendor wants it: a mail-merge CSV
 * row and the lines of the address block. Pure: the task and its contact go in, a piece or the
 * reason there is none comes out.
 */

export type MailKind = 'postcard' | 'letter';
export const MAIL_KINDS: readonly MailKind[] = ['postcard', 'letter'];

/** A mail task with what its contact says now, as the repository reads it. */
export interface MailTask {
  id: number;
  kind: MailKind;
  /** The address copied onto the task when it was made (stored JSON, not trusted). */
  address: unknown;
  /** tasks.content: { subject, html, text } rendered when the task was made (stored JSON). */
  content: unknown;
  contact: {
    email: string;
    firstName: string | null;
    lastName: string | null;
    /** The contact's address today (stored JSON): used when the task was made without one. */
    address: unknown;
    attributes: Record<string, unknown>;
    /** A piece came back: nothing more is mailed to this contact. */
    addressBadAt: Date | null;
  };
}

export interface MailAddress {
  line1: string;
  line2: string;
  city: string;
  region: string;
  postalCode: string;
  country: string;
}

export interface MailPiece {
  taskId: number;
  email: string;
  firstName: string;
  lastName: string;
  fullName: string;
  company: string;
  address: MailAddress;
  /** The recipient block, top to bottom, as printed in the envelope's window. */
  addressLines: string[];
  subject: string;
  text: string;
}

export type SkipReason = 'address_bad' | 'no_address' | 'address_incomplete' | 'no_content';

export interface SkippedPiece {
  taskId: number;
  email: string;
  reason: SkipReason;
  /** In words, for the operator: what is wrong and what to do. */
  detail: string;
}

export type PieceResult = { ok: true; piece: MailPiece } | { ok: false; skipped: SkippedPiece };

/** The columns of the mail-merge CSV, in order (the names print vendors' templates use). */
export const MAIL_CSV_COLUMNS = [
  'run_id',
  'piece_id',
  'kind',
  'full_name',
  'first_name',
  'last_name',
  'company',
  'address_line1',
  'address_line2',
  'city',
  'state',
  'postal_code',
  'country',
] as const;

export type MailCsvRow = Record<(typeof MAIL_CSV_COLUMNS)[number], string>;

const text = z.string().trim();
// The shape events and imports store (src/sequences/event.ts); each field checked on its own so
// the operator hears which one is missing rather than "invalid".
const storedAddress = z.object({
  line1: text.optional(),
  line2: text.optional(),
  city: text.optional(),
  region: text.optional(),
  postalCode: text.optional(),
  country: text.optional(),
});
const storedContent = z.object({ subject: z.string().optional(), text: z.string().optional() });

const REQUIRED = ['line1', 'city', 'postalCode', 'country'] as const;

/** Control characters and line breaks inside a field would break the block and the CSV row. */
function clean(s: string | null | undefined): string {
  return (s ?? '').replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim();
}

function presentAddress(raw: unknown): Partial<MailAddress> | null {
  if (raw === null || raw === undefined) return null;
  const r = storedAddress.safeParse(raw);
  if (!r.success) return null;
  const a = r.data;
  const out: Partial<MailAddress> = {};
  for (const k of ['line1', 'line2', 'city', 'region', 'postalCode', 'country'] as const) {
    const v = clean(a[k]);
    if (v) out[k] = v;
  }
  return Object.keys(out).length > 0 ? out : null;
}

/** The company of a contact, when imports or events gave one as an attribute. */
function companyOf(attributes: Record<string, unknown>): string {
  for (const key of ['company', 'companyName', 'company_name', 'organization']) {
    const v = attributes[key];
    if (typeof v === 'string' && clean(v)) return clean(v);
  }
  return '';
}

// Countries whose city line reads "City, ST 12345" (the rest of the world mostly writes the
// postal code first, "10115 Berlin"); the UK puts the postcode on a line of its own.
const CITY_FIRST = new Set(['US', 'USA', 'UNITED STATES', 'UNITED STATES OF AMERICA', 'CA', 'CANADA', 'AU', 'AUSTRALIA']);
const POSTCODE_LINE = new Set(['GB', 'UK', 'UNITED KINGDOM', 'GREAT BRITAIN', 'ENGLAND', 'SCOTLAND', 'WALES', 'NORTHERN IRELAND']);

/** The recipient block: name, company, street lines, city line(s), country in capitals (UPU). */
export function addressLines(name: string, company: string, a: MailAddress): string[] {
  const country = a.country.toUpperCase();
  const cityLines = CITY_FIRST.has(country)
    ? [`${a.city}${a.region || a.postalCode ? ',' : ''} ${[a.region, a.postalCode].filter(Boolean).join(' ')}`.trim()]
    : POSTCODE_LINE.has(country)
      ? [a.city.toUpperCase(), ...(a.region ? [a.region] : []), a.postalCode]
      : [`${a.postalCode} ${a.city}${a.region ? ` ${a.region}` : ''}`];
  return [name, company, a.line1, a.line2, ...cityLines, country].filter((l) => l !== '');
}

/** The piece of a task, or why it is left out of the run. */
export function mailPiece(task: MailTask): PieceResult {
  const skip = (reason: SkipReason, detail: string): PieceResult => ({ ok: false, skipped: { taskId: task.id, email: task.contact.email, reason, detail } });
  const c = task.contact;
  if (c.addressBadAt) {
    return skip('address_bad', `the address was marked bad on ${c.addressBadAt.toISOString().slice(0, 10)} (a piece came back): find a new one`);
  }
  // The address the task was made with is the one staff saw in `tasks show`; the contact's own
  // only fills in for a task that was made before any address was known.
  const given = presentAddress(task.address) ?? presentAddress(c.address);
  if (!given) return skip('no_address', 'no postal address on file');
  const missing = REQUIRED.filter((k) => !given[k]);
  if (missing.length > 0) return skip('address_incomplete', `the address has no ${missing.join(', ')}`);
  const content = storedContent.safeParse(task.content ?? {});
  const body = content.success ? (content.data.text ?? '').trim() : '';
  if (!body) return skip('no_content', 'the task holds no rendered text to print');
  const address: MailAddress = {
    line1: given.line1!,
    line2: given.line2 ?? '',
    city: given.city!,
    region: given.region ?? '',
    postalCode: given.postalCode!,
    country: given.country!,
  };
  const firstName = clean(c.firstName);
  const lastName = clean(c.lastName);
  const fullName = [firstName, lastName].filter(Boolean).join(' ');
  const company = companyOf(c.attributes);
  return {
    ok: true,
    piece: {
      taskId: task.id,
      email: c.email,
      firstName,
      lastName,
      fullName,
      company,
      address,
      addressLines: addressLines(fullName, company, address),
      subject: content.success ? clean(content.data.subject) : '',
      text: body,
    },
  };
}

/** The piece's row of the mail-merge CSV. */
export function csvRow(runId: string, kind: MailKind, p: MailPiece): MailCsvRow {
  return {
    run_id: runId,
    piece_id: String(p.taskId),
    kind,
    full_name: p.fullName,
    first_name: p.firstName,
    last_name: p.lastName,
    company: p.company,
    address_line1: p.address.line1,
    address_line2: p.address.line2,
    city: p.address.city,
    state: p.address.region,
    postal_code: p.address.postalCode,
    country: p.address.country,
  };
}

/**
 * The CSV file, header first. A cell a spreadsheet would run as a formula (=, +, -, @ first) gets
 * a leading apostrophe, as in the reports: names and addresses come from public forms, and the
 * file is opened by staff before it goes to the vendor.
 */
export function mailRunCsv(rows: MailCsvRow[]): string {
  const cell = (v: string) => (/^[=+\-@\t\r]/.test(v) ? `'${v}` : v);
  return stringify([[...MAIL_CSV_COLUMNS], ...rows.map((r) => MAIL_CSV_COLUMNS.map((c) => cell(r[c])))]);
}
