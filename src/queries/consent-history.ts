import { consentRecordsOf } from '../db/consent-repository.js';
import { findContactByEmail } from '../db/contact-repository.js';
import { pendingOptInsOfContact } from '../db/pending-opt-in-repository.js';
import type { ConsentKind, PendingOptInStatus } from '../db/schema.js';
import { z } from 'zod';
import { NotFoundError, StoredDataError } from '../errors.js';
import type { ReadDb } from './read-db.js';

export interface ConsentRecordView {
  kind: ConsentKind;
  at: string;
  source: string;
  formId: string | null;
  formVersion: string | null;
  ip: string | null;
  userAgent: string | null;
  wording: string | null;
  wordingHash: string | null;
  eventId: string | null;
  detail: Record<string, unknown>;
}

export interface PendingOptInView {
  id: string;
  formId: string;
  formVersion: string;
  status: PendingOptInStatus;
  createdAt: string;
  expiresAt: string;
  confirmedAt: string | null;
  expiredAt: string | null;
}

export interface ConsentHistory {
  email: string;
  /** Null when no contact row exists (never applied, or erased): the history is kept by the address's hash. */
  contactId: string | null;
  records: ConsentRecordView[];
  /** Double opt-ins of the contact, oldest first. */
  pendingOptIns: PendingOptInView[];
}

/**
 * Every change of consent of an address, oldest first: what `nurture contacts consent` prints.
 * Found by the address's hash, so the history of an erased contact is still there.
 */
export async function consentHistory(db: ReadDb, email: string): Promise<ConsentHistory> {
  const key = email.trim().toLowerCase();
  const contact = await findContactByEmail(db, key);
  const rows = await consentRecordsOf(db, key);
  if (!contact && rows.length === 0) throw new NotFoundError(`no contact and no consent record for ${key}`);
  const pending = contact ? await pendingOptInsOfContact(db, contact.id) : [];
  return {
    email: key,
    contactId: contact?.id ?? null,
    records: rows.map((r) => ({
      kind: r.kind,
      at: r.at.toISOString(),
      source: r.source,
      formId: r.form_id,
      formVersion: r.form_version,
      ip: r.ip,
      userAgent: r.user_agent,
      wording: r.wording,
      wordingHash: r.wording_hash,
      eventId: r.event_id,
      detail: detailOf(r.id, r.detail),
    })),
    pendingOptIns: pending.map((p) => ({
      id: p.id,
      formId: p.form_id,
      formVersion: p.form_version,
      status: p.status,
      createdAt: p.created_at.toISOString(),
      expiresAt: p.expires_at.toISOString(),
      confirmedAt: p.confirmed_at?.toISOString() ?? null,
      expiredAt: p.expired_at?.toISOString() ?? null,
    })),
  };
}

const detailSchema = z.record(z.string(), z.unknown());

function detailOf(id: string, raw: unknown): Record<string, unknown> {
  const d = detailSchema.safeParse(raw);
  if (!d.success) throw new StoredDataError(`consent record ${id}`, 'detail', z.prettifyError(d.error));
  return d.data;
}
