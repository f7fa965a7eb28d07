import type { DateTime } from 'luxon';
import { recordConsent } from '../db/consent-repository.js';
import { findContactByEmail, lockContact } from '../db/contact-repository.js';
import type { ErasureCounts } from '../db/erasure-repository.js';
import { eraseContactData, erasedAddress, erasureCounts } from '../db/erasure-repository.js';
import { forgetSuppressedAddress, suppress, suppressionsOf } from '../db/suppression-repository.js';
import { NotFoundError } from '../errors.js';
import type { AppContext } from './context.js';

export type EraseOutcome =
  /** Without `apply`: what an erase would clear, changing nothing. */
  | { status: 'preview'; email: string; contactId: string; counts: ErasureCounts }
  | { status: 'erased'; email: string; contactId: string; counts: ErasureCounts; erasedAs: string }
  /** The address was erased before; nothing is left to clear. */
  | { status: 'already_erased'; email: string };

/**
 * A data subject's erasure request, in one transaction under the contact's lock: the person's
 * data is cleared (src/db/erasure-repository.ts), the address goes on the suppression list as
 * `erased` and its own text is dropped from every entry there (the hash stays: the address is
 * never mailed again, even if it opts in again as a new contact), and the erase is appended to
 * the consent history. Nothing is scheduled: nothing more is sent.
 */
export async function eraseContact(ctx: AppContext, email: string, now: DateTime, o: { apply: boolean; source?: string }): Promise<EraseOutcome> {
  const address = email.trim().toLowerCase();
  const db = ctx.deps.db;
  const found = await findContactByEmail(db, address);
  if (!found) {
    if ((await suppressionsOf(db, address)).some((s) => s.reason === 'erased')) return { status: 'already_erased', email: address };
    throw new NotFoundError(`no contact ${address}`);
  }
  if (!o.apply) return { status: 'preview', email: address, contactId: found.id, counts: await erasureCounts(db, found.id, address) };
  return db.transaction().execute(async (tx) => {
    const row = await lockContact(tx, found.id);
    // Erased, or its address changed, while this command waited for the lock.
    if (!row || row.email !== address) throw new NotFoundError(`no contact ${address}`);
    const counts = await erasureCounts(tx, row.id, address);
    const at = now.toJSDate();
    await eraseContactData(tx, row.id, address, at);
    await suppress(tx, { email: address, reason: 'erased', source: o.source ?? 'cli', at });
    await forgetSuppressedAddress(tx, address);
    await recordConsent(tx, { email: address, contactId: row.id, kind: 'erased', at, source: o.source ?? 'cli' });
    ctx.log.info({ contactId: row.id }, 'contact erased');
    return { status: 'erased', email: address, contactId: row.id, counts, erasedAs: erasedAddress(row.id) };
  });
}
