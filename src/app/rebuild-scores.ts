import type { DateTime } from 'luxon';
import { contactIdsPage, countContacts } from '../db/score-repository.js';
import { retryTransient } from '../db/transient.js';
import { rescoreContacts } from '../engine/rescore-contacts.js';
import type { ScoringRules } from '../scoring/rules.js';
import type { AppContext } from './context.js';
import { scheduleOrLeave } from './scheduler.js';

/**
 * `nurture scores rebuild`: recomputes every contact's score after a rule change, a page of
 * contacts per transaction, and moves the stages the new rules decide (each move a stage_changed
 * event for the sequences). With `dryRun`, nothing is written: the counts say what would change.
 */
export interface RebuildReport {
  contacts: number;
  changed: number;
  /** Stage moves by `from→to`, most frequent first. */
  moves: { move: string; contacts: number }[];
  dryRun: boolean;
}

export interface RebuildOptions {
  dryRun?: boolean;
  /** Contacts per transaction (default 1,000). */
  pageSize?: number;
  /** Pages in flight at once (default 2; the store's pool must have a connection for each). */
  concurrency?: number;
  /** Told the total before the first page, then after each page. */
  onProgress?: (done: number, total: number) => void;
}

export async function rebuildScores(ctx: AppContext, rules: ScoringRules, now: DateTime, o: RebuildOptions = {}): Promise<RebuildReport> {
  const pageSize = o.pageSize ?? 1_000;
  const total = await countContacts(ctx.deps.db);
  o.onProgress?.(0, total);
  const report: RebuildReport = { contacts: 0, changed: 0, moves: [], dryRun: o.dryRun === true };
  const moves = new Map<string, number>();
  // Two pages at a time: one is computed in Node while the other is read or written in PostgreSQL.
  let after: string | undefined;
  let exhausted = false;
  let cursor: Promise<string[]> = Promise.resolve([]);
  const nextPage = () =>
    (cursor = cursor.then(async () => {
      if (exhausted) return [];
      const ids = await contactIdsPage(ctx.deps.db, after, pageSize);
      if (ids.length < pageSize) exhausted = true;
      if (ids.length > 0) after = ids[ids.length - 1]!;
      return ids;
    }));
  const lane = async () => {
    for (let ids = await nextPage(); ids.length > 0; ids = await nextPage()) {
      // A page rescored again after a deadlock with the event path computes the same: the score is a function.
      const r = await retryTransient(() => rescoreContacts(ctx.deps, rules, ids, now, { dryRun: o.dryRun }), {
        onRetry: (err, attempt) => ctx.log.warn({ err, attempt }, 'scores rebuild: page failed, retrying'),
      });
      report.contacts += r.contacts;
      report.changed += r.changed;
      for (const [k, n] of r.moves) moves.set(k, (moves.get(k) ?? 0) + n);
      if (r.after.sends.length + r.after.wakes.length > 0) await scheduleOrLeave(ctx, r.after, now);
      o.onProgress?.(Math.min(total, report.contacts), Math.max(total, report.contacts));
    }
  };
  await Promise.all(Array.from({ length: o.concurrency ?? 2 }, lane));
  report.moves = [...moves].map(([move, contacts]) => ({ move, contacts })).sort((a, b) => b.contacts - a.contacts || a.move.localeCompare(b.move));
  return report;
}
