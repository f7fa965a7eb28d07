import type { DateTime } from 'luxon';
import { toContact } from '../db/contact-repository.js';
import type { EnrollmentRow } from '../db/enrollment-repository.js';
import { enrollmentsOfContacts } from '../db/enrollment-repository.js';
import type { ScoredContactRow } from '../db/score-repository.js';
import { cachedScoreOf, scoredContacts, scoredEventsOf } from '../db/score-repository.js';
import type { ScoringRules } from '../scoring/rules.js';
import { scoredEventTypes } from '../scoring/score.js';
import type { Stage } from '../sequences/stage.js';
import { applyStageChanged } from './apply-event.js';
import type { AfterCommit, ContactScope, EngineDeps } from './engine-deps.js';
import { emptyAfterCommit } from './engine-deps.js';
import type { ScoreTarget } from './refresh-score.js';
import { decideRefresh, refreshScores, scoreChanged } from './refresh-score.js';

/**
 * Recomputes the scores of some contacts outside any event: the decay sweep (time alone can
 * cross a threshold) and `nurture scores rebuild` (the rules changed). One transaction per call,
 * holding the contacts' locks like the event path does. A dry run writes nothing and says what
 * would change.
 */
export interface RescoreResult {
  contacts: number;
  /** Contacts whose cached score differs from the computed one. */
  changed: number;
  /** Stage moves, by `from→to`. */
  moves: Map<string, number>;
  after: AfterCommit;
}

export async function rescoreContacts(
  deps: EngineDeps,
  rules: ScoringRules,
  ids: readonly string[],
  now: DateTime,
  /** `writeAll` (the sweep): store every score and its score_at, changed or not, so the contact is not swept again at once. */
  o: { dryRun?: boolean; writeAll?: boolean } = {},
): Promise<RescoreResult> {
  const result: RescoreResult = { contacts: 0, changed: 0, moves: new Map(), after: emptyAfterCommit() };
  if (ids.length === 0) return result;
  const count = (from: Stage, to: Stage) => result.moves.set(`${from}→${to}`, (result.moves.get(`${from}→${to}`) ?? 0) + 1);
  const types = scoredEventTypes(rules);
  const targetsOf = async (rows: ScoredContactRow[], db: typeof deps.db): Promise<ScoreTarget[]> => {
    const histories = await scoredEventsOf(db, rows.map((r) => r.id), types);
    return rows.map((row) => ({ scope: scopeOf(row), cached: cachedScoreOf(row), history: histories.get(row.id) ?? [], eventId: null }));
  };
  if (o.dryRun) {
    for (const t of await targetsOf(await scoredContacts(deps.db, ids, false), deps.db)) {
      const { score, move } = decideRefresh(rules, t, now);
      result.contacts++;
      if (scoreChanged(t.cached, score)) result.changed++;
      if (move) count(move.from, move.to);
    }
    return result;
  }
  return deps.db.transaction().execute(async (tx) => {
    await deps.registry.sync(tx);
    // In id order, as every path that locks several contacts does, so two rescores never deadlock.
    const targets = await targetsOf(await scoredContacts(tx, ids, true), tx);
    result.contacts = targets.length;
    const { moves, changed } = await refreshScores(tx, rules, targets, now, { writeAll: o.writeAll });
    result.changed = changed;
    const enrollments = moves.length > 0 ? await enrollmentsOfContacts(tx, moves.map((m) => m.scope.contact.id)) : new Map<string, EnrollmentRow[]>();
    for (const m of moves) {
      count(m.change.from, m.change.to);
      await applyStageChanged(tx, deps, m.scope, m, enrollments.get(m.scope.contact.id) ?? [], now);
      result.after.sends.push(...m.scope.after.sends);
      result.after.wakes.push(...m.scope.after.wakes);
    }
    return result;
  });
}

function scopeOf(row: ScoredContactRow): ContactScope {
  return { contact: toContact(row), history: undefined, recentEmails: undefined, after: emptyAfterCommit(), started: new Set(), buffer: undefined };
}
