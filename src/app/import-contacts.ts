import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import type { DateTime } from 'luxon';
import type { ImportedContact } from '../db/contact-import-repository.js';
import { upsertImportedContacts } from '../db/contact-import-repository.js';
import { applyEventBatch } from './apply-events.js';
import type { AppContext } from './context.js';
import { InputError } from '../errors.js';
import type { NurtureEvent } from '../sequences/event.js';
import { contactSchema } from '../sequences/event.js';

/**
 * `nurture contacts import FILE.csv`: rows become contacts (created or refreshed, tagged with the
 * source), validated one by one with the rules events follow. With `enroll`, each imported row is
 * also an `opt_in` event (data.source = the source) applied through the engine's batched path, so
 * the contacts enter whatever sequences trigger on it, exactly as if they had opted in now.
 */

export const ADDRESS_FIELDS = ['line1', 'line2', 'city', 'region', 'postalCode', 'country'] as const;
export const CONTACT_FIELDS = ['email', 'firstName', 'lastName', 'phone', 'timezone', ...ADDRESS_FIELDS, 'tags'] as const;
type Field = (typeof CONTACT_FIELDS)[number] | `attributes.${string}`;

/** Header names (lower-cased, letters and digits only) recognised without a --map. */
const DEFAULT_HEADERS: Record<string, (typeof CONTACT_FIELDS)[number]> = {
  email: 'email', emailaddress: 'email', mail: 'email',
  firstname: 'firstName', first: 'firstName', givenname: 'firstName', forename: 'firstName',
  lastname: 'lastName', last: 'lastName', surname: 'lastName', familyname: 'lastName',
  phone: 'phone', phonenumber: 'phone', mobile: 'phone', telephone: 'phone', tel: 'phone',
  timezone: 'timezone', tz: 'timezone', zone: 'timezone',
  line1: 'line1', address: 'line1', address1: 'line1', addressline1: 'line1', street: 'line1',
  line2: 'line2', address2: 'line2', addressline2: 'line2',
  city: 'city', town: 'city',
  region: 'region', state: 'region', province: 'region', county: 'region',
  postalcode: 'postalCode', postcode: 'postalCode', zip: 'postalCode', zipcode: 'postalCode',
  country: 'country',
  tags: 'tags',
};

const normalise = (h: string): string => h.toLowerCase().replace(/[^a-z0-9]/g, '');

export interface ImportOptions {
  /** field -> column header, from --map; the rest by header name. */
  map: Record<string, string>;
  /** Tag added to every imported contact, and data.source of the opt-ins with `enroll`. */
  source: string;
  enroll: boolean;
  /** Rows per transaction. */
  batch?: number;
  onProgress?: (p: { bytes: number; rows: number }) => void;
}

export interface RowProblem {
  line: number;
  field: string;
  column: string | null;
  value: string;
  message: string;
}

export interface ImportSummary {
  file: string;
  source: string;
  rows: number;
  imported: number;
  created: number;
  updated: number;
  /** Rows whose email appeared earlier in the same batch: merged into it. */
  merged: number;
  invalid: RowProblem[];
  /** Field -> column actually used; columns imported nowhere. */
  mapping: Record<string, string>;
  ignoredColumns: string[];
  /** With `enroll`: opt-ins applied now, already applied by an earlier run of the same import, and enrollments made. */
  enroll: { applied: number; duplicate: number; enrollments: number } | null;
  seconds: number;
}

/** Parses `email=E-mail,firstName=First`; every key must be a field, every value non-empty. */
export function parseMapping(text: string | undefined): Record<string, string> {
  if (!text) return {};
  const out: Record<string, string> = {};
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? '' : pair.slice(0, eq).trim();
    const column = eq < 0 ? '' : pair.slice(eq + 1).trim();
    if (!key || !column) throw new InputError(`--map: "${pair}" is not FIELD=COLUMN (e.g. --map email=E-mail,firstName=First)`);
    const field = key.startsWith('address.') ? key.slice('address.'.length) : key;
    if (!(CONTACT_FIELDS as readonly string[]).includes(field) && !/^attributes\.[A-Za-z0-9_-]+$/.test(field)) {
      throw new InputError(`--map: "${key}" is not a field; fields are ${CONTACT_FIELDS.join(', ')} and attributes.NAME`);
    }
    out[field] = column;
  }
  return out;
}

function resolveColumns(file: string, header: string[], map: Record<string, string>): { columns: Map<number, Field>; mapping: Record<string, string>; ignored: string[] } {
  const columns = new Map<number, Field>();
  const mapping: Record<string, string> = {};
  for (const [field, column] of Object.entries(map)) {
    const i = header.indexOf(column);
    if (i < 0) throw new InputError(`${file}: --map ${field}=${column}: there is no column "${column}" (columns: ${header.join(', ')})`);
    columns.set(i, field as Field);
    mapping[field] = column;
  }
  header.forEach((h, i) => {
    if (columns.has(i)) return;
    const field = DEFAULT_HEADERS[normalise(h)];
    if (field && !(field in mapping)) {
      columns.set(i, field);
      mapping[field] = h;
    }
  });
  if (!('email' in mapping)) throw new InputError(`${file}: no email column (columns: ${header.join(', ')}): name one with --map email=COLUMN`);
  return { columns, mapping, ignored: header.filter((_, i) => !columns.has(i)) };
}

type RowResult = { ok: true; contact: ImportedContact } | { ok: false; problem: Omit<RowProblem, 'line'> };

function rowToContact(record: string[], columns: Map<number, Field>, mapping: Record<string, string>, source: string): RowResult {
  const raw: Record<string, unknown> = {};
  const address: Record<string, string> = {};
  const attributes: Record<string, unknown> = {};
  let tags: string[] = [];
  for (const [i, field] of columns) {
    const value = (record[i] ?? '').trim();
    if (value === '') continue;
    if (field.startsWith('attributes.')) attributes[field.slice('attributes.'.length)] = value;
    else if ((ADDRESS_FIELDS as readonly string[]).includes(field)) address[field] = value;
    else if (field === 'tags') tags = value.split(/[;,]/).map((t) => t.trim()).filter(Boolean);
    else raw[field] = value;
  }
  if (Object.keys(address).length > 0) raw['address'] = address;
  const parsed = contactSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map(String);
    const field = path.join('.');
    const key = path[0] === 'address' ? (path[1] ?? 'line1') : (path[0] ?? 'email');
    const column = mapping[key] ?? null;
    const given = path[0] === 'address' ? address[key] : raw[key];
    const missing = given === undefined;
    return { ok: false, problem: { field, column, value: missing ? '' : String(given), message: missing ? 'is required' : issue.message } };
  }
  const c = parsed.data;
  return {
    ok: true,
    contact: { ...c, address: c.address, attributes, tags: [...new Set([...tags, source])] },
  };
}

function mergeInto(a: ImportedContact, b: ImportedContact): ImportedContact {
  const pick = <K extends keyof ImportedContact>(k: K) => b[k] ?? a[k];
  return {
    email: a.email,
    firstName: pick('firstName'),
    lastName: pick('lastName'),
    phone: pick('phone'),
    timezone: pick('timezone'),
    address: pick('address'),
    attributes: { ...a.attributes, ...b.attributes },
    tags: [...new Set([...a.tags, ...b.tags])],
  };
}

export async function importContacts(
  ctx: AppContext,
  input: { name: string; stream: Readable },
  o: ImportOptions,
  now: DateTime,
): Promise<ImportSummary> {
  const started = Date.now();
  const batchSize = o.batch ?? 1000;
  let bytes = 0;
  input.stream.on('data', (chunk: Buffer | string) => (bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length));
  const parser = input.stream.pipe(parse({ bom: true, skip_empty_lines: true, relax_column_count: true, info: true }));
  input.stream.on('error', (err) => parser.destroy(err));
  const summary: ImportSummary = {
    file: input.name,
    source: o.source,
    rows: 0,
    imported: 0,
    created: 0,
    updated: 0,
    merged: 0,
    invalid: [],
    mapping: {},
    ignoredColumns: [],
    enroll: o.enroll ? { applied: 0, duplicate: 0, enrollments: 0 } : null,
    seconds: 0,
  };
  let columns: Map<number, Field> | undefined;
  let pending = new Map<string, ImportedContact>();

  const flush = async (): Promise<void> => {
    const batch = [...pending.values()];
    pending = new Map();
    if (batch.length === 0) return;
    const r = await ctx.deps.db.transaction().execute((tx) => upsertImportedContacts(tx, batch));
    summary.created += r.created;
    summary.updated += r.updated;
    summary.imported += batch.length;
    if (summary.enroll) await enrollBatch(ctx, batch, o.source, now, summary.enroll);
    o.onProgress?.({ bytes, rows: summary.rows });
  };

  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (!columns) {
        const header = record.map((h) => h.trim());
        const resolved = resolveColumns(input.name, header, o.map);
        columns = resolved.columns;
        summary.mapping = resolved.mapping;
        summary.ignoredColumns = resolved.ignored;
        continue;
      }
      summary.rows++;
      const r = rowToContact(record, columns, summary.mapping, o.source);
      if (!r.ok) {
        summary.invalid.push({ line: info.lines, ...r.problem });
        continue;
      }
      const seen = pending.get(r.contact.email);
      if (seen) summary.merged++;
      pending.set(r.contact.email, seen ? mergeInto(seen, r.contact) : r.contact);
      if (pending.size >= batchSize) await flush();
    }
  } catch (err) {
    if (err instanceof InputError) throw err;
    const e = err as Error & { code?: string; lines?: number };
    // csv-parse errors (an unclosed quote, ...) carry the code and the line: the file is not CSV there.
    if (e.code?.startsWith('CSV_')) throw new InputError(`${input.name}:${e.lines ?? '?'}: not valid CSV: ${e.message}`, { cause: err });
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new InputError(`${input.name}: no such file`, { cause: err });
    throw err;
  }
  if (!columns) throw new InputError(`${input.name}: the file is empty (expected a header line, e.g. email,firstName)`);
  await flush();
  summary.seconds = (Date.now() - started) / 1000;
  return summary;
}

/** The events worker's default batch: the size the engine's bulk path is tuned for. */
const EVENT_BATCH = 200;

/** One opt-in per imported contact, applied in the engine's batches; the id makes a re-run of the same import a no-op. */
async function enrollBatch(ctx: AppContext, batch: ImportedContact[], source: string, now: DateTime, into: NonNullable<ImportSummary['enroll']>): Promise<void> {
  const at = now.toUTC().toISO()!;
  // The time is the import's, not the person's: flagged as defaulted, it is left out of the
  // body's hash, so re-running the same import redelivers the same event (a duplicate).
  const events: NurtureEvent[] = batch.map((c) => ({ id: `import-${source}-${c.email}`, type: 'opt_in', occurredAt: at, occurredAtDefaulted: true, contact: { email: c.email }, data: { source } }));
  const step = EVENT_BATCH;
  for (let i = 0; i < events.length; i += step) {
    for (const r of await applyEventBatch(ctx, events.slice(i, i + step), now)) {
      if (r.status === 'applied') into.applied++;
      else into.duplicate++;
      into.enrollments += r.enrolled.length;
    }
  }
}
