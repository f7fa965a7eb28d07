import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, SuppressionReason } from './schema.js';

/** The key of an address in the suppression list and consent history: kept after an erase. */
export function addressHash(email: string): string {
  return createHash('sha256').update(email.trim().toLowerCase(), 'utf8').digest('hex');
}

export interface Suppression {
  reason: SuppressionReason;
  source: string;
  detail: string | null;
  at: Date;
}

/**
 * Adds the address to the suppression list for `reason`; a second entry for the same reason keeps
 * the first. True when this call added it (an unsubscribe repeated by a mail client records once).
 */
export async function suppress(
  db: Kysely<Database>,
  s: { email: string; reason: SuppressionReason; source: string; detail?: string | undefined; at: Date },
): Promise<boolean> {
  const r = await db
    .insertInto('suppressions')
    .values({ address_hash: addressHash(s.email), reason: s.reason, email: s.email.toLowerCase(), source: s.source, detail: s.detail ?? null, created_at: s.at })
    .onConflict((oc) => oc.columns(['address_hash', 'reason']).doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/** Removes one reason (a resubscribe lifts `unsubscribed`, never a bounce, a complaint or an erase). */
export async function liftSuppression(db: Kysely<Database>, email: string, reason: SuppressionReason): Promise<boolean> {
  const r = await db.deleteFrom('suppressions').where('address_hash', '=', addressHash(email)).where('reason', '=', reason).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** Every reason the address is suppressed for, oldest first; empty when it may be mailed. */
export async function suppressionsOf(db: Kysely<Database>, email: string): Promise<Suppression[]> {
  const rows = await db
    .selectFrom('suppressions')
    .select(['reason', 'source', 'detail', 'created_at'])
    .where('address_hash', '=', addressHash(email))
    .orderBy('created_at')
    .execute();
  return rows.map((r) => ({ reason: r.reason, source: r.source, detail: r.detail, at: r.created_at }));
}

/** Drops the address itself from every entry (an erase): the hash alone keeps it from being mailed. */
export async function forgetSuppressedAddress(db: Kysely<Database>, email: string): Promise<number> {
  const r = await db.updateTable('suppressions').set({ email: null }).where('address_hash', '=', addressHash(email)).executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** Which of these addresses are on the suppression list for any reason (lower-cased addresses). */
export async function suppressedAmong(db: Kysely<Database>, emails: readonly string[]): Promise<Set<string>> {
  if (emails.length === 0) return new Set();
  const byHash = new Map(emails.map((e) => [addressHash(e), e.trim().toLowerCase()]));
  const rows = await db.selectFrom('suppressions').select('address_hash').where('address_hash', 'in', [...byHash.keys()]).execute();
  return new Set(rows.map((r) => byHash.get(r.address_hash)!));
}
