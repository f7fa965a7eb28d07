import type { Kysely } from 'kysely';
import type { ConsentKind, Database } from './schema.js';
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

/** Appends one change to the consent history. Rows are never updated, except to redact them on erase. */
export async function recordConsent(db: Kysely<Database>, c: ConsentChange): Promise<void> {
  await db
    .insertInto('consent_records')
    .values({
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
    })
    .execute();
}
