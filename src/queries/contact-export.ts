import { findContactByEmail } from '../db/contact-repository.js';
import { addressHash } from '../db/suppression-repository.js';
import { NotFoundError } from '../errors.js';
import type { ReadDb } from './read-db.js';

/**
 * Everything Nurture holds about one person (a data subject's access request), as plain JSON:
 * the contact row, every event, touch, task, enrollment and stage change of it, the consent
 * history and suppression entries of its address (kept by hash, so they outlive the contact),
 * and rejected events whose payload names the address. Timestamps are ISO 8601.
 */
export interface ContactExport {
  email: string;
  exportedAt: string;
  contact: Row | null;
  events: Row[];
  touches: Row[];
  tasks: Row[];
  enrollments: Row[];
  stageChanges: Row[];
  consentRecords: Row[];
  /** Double opt-ins: the contact as the form gave it, with IP and user agent, until confirmed or expired. */
  pendingOptIns: Row[];
  suppressions: Row[];
  failedEvents: Row[];
}

type Row = Record<string, unknown>;

/** Dates as ISO strings, the rest as the driver gave it: what JSON.stringify would print. */
function plain<T extends object>(rows: T[]): Row[] {
  return JSON.parse(JSON.stringify(rows)) as Row[];
}

export async function contactExport(db: ReadDb, email: string, now: Date): Promise<ContactExport> {
  const address = email.trim().toLowerCase();
  const hash = addressHash(address);
  const contact = await findContactByEmail(db, address);
  const id = contact?.id;
  const ofContact = async <T extends object>(q: (id: string) => Promise<T[]>): Promise<Row[]> => (id ? plain(await q(id)) : []);
  const consentRecords = plain(
    await db
      .selectFrom('consent_records')
      .selectAll()
      .where((eb) => (id ? eb.or([eb('address_hash', '=', hash), eb('contact_id', '=', id)]) : eb('address_hash', '=', hash)))
      .orderBy('at')
      .orderBy('id')
      .execute(),
  );
  const suppressions = plain(await db.selectFrom('suppressions').selectAll().where('address_hash', '=', hash).orderBy('created_at').execute());
  if (!contact && consentRecords.length === 0 && suppressions.length === 0) throw new NotFoundError(`no contact ${address}, and nothing held about the address`);
  return {
    email: address,
    exportedAt: now.toISOString(),
    contact: contact ? plain([contact])[0]! : null,
    events: await ofContact((c) => db.selectFrom('events').selectAll().where('contact_id', '=', c).orderBy('seq').execute()),
    touches: await ofContact((c) => db.selectFrom('touches').selectAll().where('contact_id', '=', c).orderBy('created_at').orderBy('id').execute()),
    tasks: await ofContact((c) => db.selectFrom('tasks').selectAll().where('contact_id', '=', c).orderBy('id').execute()),
    enrollments: await ofContact((c) => db.selectFrom('enrollments').selectAll().where('contact_id', '=', c).orderBy('enrolled_at').orderBy('id').execute()),
    stageChanges: await ofContact((c) => db.selectFrom('stage_changes').selectAll().where('contact_id', '=', c).orderBy('at').orderBy('id').execute()),
    consentRecords,
    pendingOptIns: await ofContact((c) => db.selectFrom('pending_opt_ins').selectAll().where('contact_id', '=', c).orderBy('created_at').execute()),
    suppressions,
    failedEvents: plain(
      await db
        .selectFrom('failed_events')
        .selectAll()
        .where('payload', 'ilike', `%${address.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`)
        .orderBy('id')
        .execute(),
    ),
  };
}
