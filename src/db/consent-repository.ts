import type { Kysely, Selectable } from 'kysely';
import type { ConsentKind, ConsentRecordsTable, Database } from './schema.js';
import { addressHash } from './suppression-repository.js';

export interface ConsentChange {
  email: string;
  contactId: string | null;
  kind: ConsentKind;
  at: Date;
  source: string;
  formId?: string | undefined;
  formVersion?: string | undefined;
  ip?: string | undefined;
  userAgent?: string | undefined;
  wording?: string | undefined;
  wordingHash?: string | undefined;
  eventId?: string | undefined;
  detail?: Record<string, unknown> | undefined;
}

function row(c: ConsentChange) {
  return {
    contact_id: c.contactId,
    address_hash: addressHash(c.email),
    kind: c.kind,
    at: c.at,
    source: c.source,
    form_id: c.formId ?? null,
    form_version: c.formVersion ?? null,
    ip: c.ip ?? null,
    user_agent: c.userAgent ?? null,
    wording: c.wording ?? null,
    wording_hash: c.wordingHash ?? null,
    event_id: c.eventId ?? null,
    detail: JSON.stringify(c.detail ?? {}),
  };
}

/**
 * Appends one change to the consent history. Rows are never updated, except to redact them on
 * erase. A change tied to an event is recorded once per kind: the first record of an event wins,
 * so the one written at the edge (a form's, with its IP and wording) is kept when the engine
 * applies the same event later. Returns whether a row was added.
 */
export async function recordConsent(db: Kysely<Database>, c: ConsentChange): Promise<boolean> {
  return (await recordConsents(db, [c])) > 0;
}

/** Several changes in one statement (the engine's opt-ins of a batch); returns how many were added. */
export async function recordConsents(db: Kysely<Database>, changes: readonly ConsentChange[]): Promise<number> {
  if (changes.length === 0) return 0;
  const r = await db
    .insertInto('consent_records')
    .values(changes.map(row))
    .onConflict((oc) => oc.columns(['event_id', 'kind']).where('event_id', 'is not', null).doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n);
}

export type ConsentRecordRow = Selectable<ConsentRecordsTable>;

/** The history of an address, oldest first (by its hash: an erased contact's history is still found). */
export async function consentRecordsOf(db: Kysely<Database>, email: string): Promise<ConsentRecordRow[]> {
  return db.selectFrom('consent_records').selectAll().where('address_hash', '=', addressHash(email)).orderBy('at').orderBy('id').execute();
}
