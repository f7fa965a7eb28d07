import type { DateTime } from 'luxon';
import { recordConsents } from '../db/consent-repository.js';
import { expireDuePendingOptIns } from '../db/pending-opt-in-repository.js';
import { cancelUnsentEmail } from '../db/touch-repository.js';
import type { AppContext } from './context.js';

const BATCH = 500;

/**
 * Double opt-ins not confirmed in time expire: each is recorded in the consent history, its
 * confirmation email is cancelled if it has not gone out yet, and no later click confirms it
 * (the person opts in again). Returns how many expired.
 */
export async function expirePendingOptIns(ctx: Pick<AppContext, 'deps'>, now: DateTime): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await ctx.deps.db.transaction().execute(async (tx) => {
      const rows = await expireDuePendingOptIns(tx, now.toJSDate(), BATCH);
      for (const r of rows) if (r.touch_id) await cancelUnsentEmail(tx, r.touch_id, 'opt-in expired unconfirmed');
      await recordConsents(
        tx,
        rows.map((r) => ({
          email: String((r.contact as { email?: unknown }).email ?? ''),
          contactId: r.contact_id,
          kind: 'expired' as const,
          at: now.toJSDate(),
          source: 'form',
          formId: r.form_id,
          formVersion: r.form_version,
          eventId: `expired-${r.id}`,
          detail: { pendingOptIn: r.id, expiresAt: r.expires_at.toISOString() },
        })),
      );
      return rows.length;
    });
    total += n;
    if (n < BATCH) return total;
  }
}
