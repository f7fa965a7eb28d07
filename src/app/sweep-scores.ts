import type { DateTime } from 'luxon';
import { staleDecayingContacts } from '../db/score-repository.js';
import { rescoreContacts } from '../engine/rescore-contacts.js';
import type { ScoringRules } from '../scoring/rules.js';
import type { AppContext } from './context.js';
import { scheduleOrLeave } from './scheduler.js';

/**
 * Decay alone can take a contact under a threshold (and keeps contacts.score, which conditions
 * test, from going stale): the contacts whose engagement still decays and whose cached score is
 * older than `staleAfterMs` are scored again, oldest first, `limit` a transaction and at most
 * `pages` transactions a run (10,000 a minute by default: 600,000 decaying contacts an hour).
 */
export const SCORE_STALE_AFTER_MS = 60 * 60_000;
const LIMIT = 1_000;
const PAGES = 10;

export async function sweepScores(
  ctx: AppContext,
  rules: ScoringRules,
  now: DateTime,
  o: { staleAfterMs?: number; limit?: number; pages?: number } = {},
): Promise<{ contacts: number; moves: number }> {
  const limit = o.limit ?? LIMIT;
  const total = { contacts: 0, moves: 0 };
  for (let page = 0; page < (o.pages ?? PAGES); page++) {
    const ids = await staleDecayingContacts(ctx.deps.db, new Date(now.toMillis() - (o.staleAfterMs ?? SCORE_STALE_AFTER_MS)), limit);
    if (ids.length === 0) break;
    const r = await rescoreContacts(ctx.deps, rules, ids, now, { writeAll: true });
    await scheduleOrLeave(ctx, r.after, now);
    const moves = [...r.moves.values()].reduce((a, b) => a + b, 0);
    if (moves > 0) ctx.log.info({ contacts: r.contacts, moves: Object.fromEntries(r.moves) }, 'scores: decay moved stages');
    total.contacts += r.contacts;
    total.moves += moves;
    if (ids.length < limit) break;
  }
  return total;
}
