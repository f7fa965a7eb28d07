import type { DateTime } from 'luxon';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { CachedScore } from '../db/score-repository.js';
import { insertStageMoves, writeScores } from '../db/score-repository.js';
import type { ScoringRules } from '../scoring/rules.js';
import type { Score, ScoredContact, ScoredEvent } from '../scoring/score.js';
import { computeScore } from '../scoring/score.js';
import type { ScoreStageChange } from '../scoring/stages.js';
import { decideScoreStage } from '../scoring/stages.js';
import type { EventFacts } from '../sequences/match.js';
import type { Stage, StageChange } from '../sequences/stage.js';
import type { ContactScope } from './engine-deps.js';

/**
 * Refreshes the cached score of contacts inside the caller's transaction (their rows are locked
 * by it): computes the pure score, writes the caches that changed in one statement, and moves
 * the stages the score decides, one `stage_changes` row each. The caller feeds each move to the
 * contact's sequences as a `stage_changed` event, after the event that caused it.
 */
export interface ScoreTarget {
  scope: ContactScope;
  cached: CachedScore;
  /** Every event of the contact a rule reads (see scoredEventTypes). */
  history: readonly ScoredEvent[];
  /** The event being applied, if any: recorded as the cause of a stage change. */
  eventId: string | null;
}

export interface StageMove {
  scope: ContactScope;
  change: Omit<StageChange, 'eventId'> & { eventId: string | null };
}

export interface ScoreRefresh {
  score: Score;
  move: ScoreStageChange | null;
}

/** Differences below this are rounding, not a change worth a write. */
const EPSILON = 1e-6;

export function scoreChanged(a: CachedScore, b: Score): boolean {
  return Math.abs(a.fit - b.fit) > EPSILON || Math.abs(a.engagement - b.engagement) > EPSILON || a.score !== Math.round(b.total);
}

/** The decision for one contact, without writing anything (the rebuild's dry run uses it too). */
export function decideRefresh(rules: ScoringRules, t: Pick<ScoreTarget, 'scope' | 'history'>, now: DateTime): ScoreRefresh {
  const score = scoreNow(rules, t.scope.contact, t.history, now);
  return { score, move: decideScoreStage(t.scope.contact.status, score, rules) };
}

/** The score as the engine takes it at `now`: an event dated a little ahead (within the allowed clock skew) counts from now. */
export function scoreNow(rules: ScoringRules, contact: ScoredContact, history: readonly ScoredEvent[], now: DateTime): Score {
  const nowMs = now.toMillis();
  return computeScore(rules, contact, history.map((e) => (e.at > nowMs ? { ...e, at: nowMs } : e)), nowMs);
}

/** `writeAll`: store every cache (and its score_at), changed or not: the sweep's mark that it looked. */
export async function refreshScores(
  tx: Kysely<Database>,
  rules: ScoringRules,
  targets: readonly ScoreTarget[],
  now: DateTime,
  o: { writeAll?: boolean } = {},
): Promise<{ moves: StageMove[]; changed: number }> {
  let changed = 0;
  const writes: (CachedScore & { stage?: Stage | undefined })[] = [];
  const moves: StageMove[] = [];
  const at = now.toUTC().toISO()!;
  for (const t of targets) {
    const { score, move } = decideRefresh(rules, t, now);
    const differs = scoreChanged(t.cached, score);
    if (differs) changed++;
    if (o.writeAll || differs || move) {
      writes.push({ contactId: t.cached.contactId, score: Math.round(score.total), fit: score.fit, engagement: score.engagement, stage: move?.to });
    }
    t.scope.contact.score = Math.round(score.total);
    if (move) {
      moves.push({ scope: t.scope, change: { kind: 'stage', from: move.from, to: move.to, reason: move.reason, eventId: t.eventId, at } });
      t.scope.contact.status = move.to;
    }
  }
  await writeScores(tx, writes, now.toJSDate());
  await insertStageMoves(
    tx,
    moves.map(({ scope, change }) => ({ contactId: scope.contact.id, ...change })),
  );
  return { moves, changed };
}

/** A stage change as the event sequences trigger on: `trigger: { event: stage_changed, where: { to: mql } }`. */
export function stageChangedFacts(change: Pick<StageChange, 'from' | 'to' | 'reason'>): EventFacts {
  return { type: 'stage_changed', data: { from: change.from, to: change.to, reason: change.reason } };
}
