import type { DateTime } from 'luxon';
import { staleDecayingContacts } from '../db/score-repository.js';
import { rescoreContacts } from '../engine/rescore-contacts.js';
import type { ScoringRules } from '../scoring/rules.js';
import type { AppContext } from './context.js';
import { scheduleOrLeave } from './scheduler.js';

/**
 * Decay alone can take a contact under a threshold (and keeps contacts.score, which conditions
 * test, from going stale): the contacts whose engagement still decays and whose cached score is
 * older than `staleAfterMs` are scored again, oldest first, at most `limit` a run.
 */
export const SCORE_STALE_AFTER_MS = 60 * 60_000;
const LIMIT = 1_000;

export async function sweepScores(
  ctx: AppContext,
  rules: ScoringRules,
  now: DateTime,
  o: { staleAfterMs?: number; limit?: number } = {},
): Promise<{ contacts: number; moves: number }> {
  const ids = await staleDecayingContacts(ctx.deps.db, new Date(now.toMillis() - (o.staleAfterMs ?? SCORE_STALE_AFTER_MS)), o.limit ?? LIMIT);
  if (ids.length === 0) return { contacts: 0, moves: 0 };
  const r = await rescoreContacts(ctx.deps, rules, ids, now);
  await scheduleOrLeave(ctx, r.after, now);
  const moves = [...r.moves.values()].reduce((a, b) => a + b, 0);
  if (moves > 0) ctx.log.info({ contacts: r.contacts, moves: Object.fromEntries(r.moves) }, 'scores: decay moved stages');
  return { contacts: r.contacts, moves };
}
