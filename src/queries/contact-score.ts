import { findContactByEmail, toContact } from '../db/contact-repository.js';
import { scoredEventsOf } from '../db/score-repository.js';
import { NotFoundError } from '../errors.js';
import type { ScoringRules } from '../scoring/rules.js';
import type { ScoreExplanation } from '../scoring/score.js';
import { explainScore, scoredEventTypes } from '../scoring/score.js';
import { decideScoreStage, stageForScore } from '../scoring/stages.js';
import type { Stage } from '../sequences/stage.js';
import type { ReadDb } from './read-db.js';

/**
 * `nurture contacts score EMAIL`: the score recomputed from the rules and the event log at an
 * instant, with every fit rule and event that contributes (its points then and now), beside the
 * cached figure and the stage. Reads only.
 */
export interface ContactScoreView {
  email: string;
  stage: Stage;
  /** What contacts.score holds, and when it was computed. */
  cached: { score: number; fit: number; engagement: number; at: string | null };
  explanation: ScoreExplanation;
  /** The stage the score alone points at (among subscriber, engaged, mql). */
  scoreStage: Stage;
  /** The move the engine would make now, if any. */
  wouldMove: { to: Stage; reason: string } | null;
}

export async function contactScore(db: ReadDb, rules: ScoringRules, email: string, at: Date): Promise<ContactScoreView> {
  const row = await findContactByEmail(db, email);
  if (!row) throw new NotFoundError(`no contact with the email ${email}`);
  const contact = toContact(row);
  const history = (await scoredEventsOf(db, [row.id], scoredEventTypes(rules))).get(row.id) ?? [];
  const explanation = explainScore(rules, contact, history, at.getTime());
  const move = decideScoreStage(contact.status, explanation, rules);
  return {
    email: contact.email,
    stage: contact.status,
    cached: { score: row.score, fit: row.fit_score, engagement: row.engagement_score, at: row.score_at ? row.score_at.toISOString() : null },
    explanation,
    scoreStage: stageForScore(rules, explanation),
    wouldMove: move ? { to: move.to, reason: move.reason } : null,
  };
}
