import type { Stage } from '../sequences/stage.js';
import type { ScoredStage, ScoringRules, StageRule, Threshold } from './rules.js';
import { SCORED_STAGES } from './rules.js';
import type { Score } from './score.js';

/**
 * Where the score puts a contact among subscriber → engaged → MQL. Pure. Forward only, unless the
 * stage the contact is in has a `fall_back_below` (hysteresis: the figures to fall under are lower
 * than those to enter, so a score hovering at a threshold does not flap). Scoring never moves a
 * lead, customer or disqualified contact: those are decided by what people asked for or did.
 */
export interface ScoreStageChange {
  from: ScoredStage;
  to: ScoredStage;
  reason: string;
}

const KEYS = ['fit', 'engagement', 'score'] as const;
const valueOf = (s: Score, k: (typeof KEYS)[number]) => (k === 'score' ? s.total : s[k]);
const shown = (n: number) => String(Math.round(n * 10) / 10);

function meets(t: Threshold, s: Score): boolean {
  return KEYS.every((k) => t[k] === undefined || valueOf(s, k) >= t[k]!);
}

function fallsBelow(t: Threshold, s: Score): boolean {
  return KEYS.some((k) => t[k] !== undefined && valueOf(s, k) < t[k]!);
}

function describe(t: Threshold, s: Score, cmp: '≥' | '<'): string {
  return KEYS.filter((k) => t[k] !== undefined && (cmp === '≥' || valueOf(s, k) < t[k]!))
    .map((k) => `${k} ${shown(valueOf(s, k))} ${cmp} ${t[k]}`)
    .join(', ');
}

export function isScoredStage(stage: Stage): stage is ScoredStage {
  return (SCORED_STAGES as readonly string[]).includes(stage);
}

/** The highest stage whose entry the score meets. */
export function stageForScore(rules: ScoringRules, s: Score): ScoredStage {
  let best: ScoredStage = 'subscriber';
  for (const stage of ['engaged', 'mql'] as const) if (rules.stages[stage] && meets(rules.stages[stage].enter, s)) best = stage;
  return best;
}

export function decideScoreStage(current: Stage, s: Score, rules: ScoringRules): ScoreStageChange | null {
  if (!isScoredStage(current)) return null;
  const target = stageForScore(rules, s);
  const rank = (x: ScoredStage) => SCORED_STAGES.indexOf(x);
  if (rank(target) > rank(current)) {
    return { from: current, to: target, reason: `score: ${describe((rules.stages[target as Exclude<ScoredStage, 'subscriber'>] as StageRule).enter, s, '≥')}` };
  }
  if (rank(target) < rank(current)) {
    const back = current === 'subscriber' ? undefined : rules.stages[current]?.fallBackBelow;
    if (back && fallsBelow(back, s)) return { from: current, to: target, reason: `score fell back: ${describe(back, s, '<')}` };
  }
  return null;
}
