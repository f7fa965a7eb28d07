import type { DateTime } from 'luxon';
import { contactsPage, countContacts } from '../db/score-repository.js';
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
  /** Told the total before the first page, then after each page. */
  onProgress?: (done: number, total: number) => void;
}

export async function rebuildScores(ctx: AppContext, rules: ScoringRules, now: DateTime, o: RebuildOptions = {}): Promise<RebuildReport> {
  const pageSize = o.pageSize ?? 1_000;
  const total = await countContacts(ctx.deps.db);
  o.onProgress?.(0, total);
  const report: RebuildReport = { contacts: 0, changed: 0, moves: [], dryRun: o.dryRun === true };
  const moves = new Map<string, number>();
  let after: string | undefined;
  for (;;) {
    const page = await contactsPage(ctx.deps.db, after, pageSize);
    if (page.length === 0) break;
    after = page[page.length - 1]!.id;
    const ids = page.map((r) => r.id);
    // A page rescored again after a deadlock with the event path computes the same: the score is a function.
    const r = await retryTransient(() => rescoreContacts(ctx.deps, rules, ids, now, { dryRun: o.dryRun }), {
      onRetry: (err, attempt) => ctx.log.warn({ err, attempt }, 'scores rebuild: page failed, retrying'),
    });
    report.contacts += r.contacts;
    report.changed += r.changed;
    for (const [k, n] of r.moves) moves.set(k, (moves.get(k) ?? 0) + n);
    if (r.after.sends.length + r.after.wakes.length > 0) await scheduleOrLeave(ctx, r.after, now);
    o.onProgress?.(Math.min(total, report.contacts), Math.max(total, report.contacts));
    if (page.length < pageSize) break;
  }
  report.moves = [...moves].map(([move, contacts]) => ({ move, contacts })).sort((a, b) => b.contacts - a.contacts || a.move.localeCompare(b.move));
  return report;
}
