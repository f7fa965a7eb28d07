import type { Command } from 'commander';
import { DateTime } from 'luxon';
import type { RetryEnrollmentsResult } from '../app/retry-enrollments.js';
import { retryEnrollments } from '../app/retry-enrollments.js';
import { InputError } from '../errors.js';
import type { StuckReport } from '../queries/stuck-enrollments.js';
import { stuckEnrollments } from '../queries/stuck-enrollments.js';
import type { ViewOptions } from './contacts.js';
import type { Rendered } from './format.js';
import { emit, formatInstant, parseLimit, relativeTime, table, truncate } from './format.js';
import { action, config } from './shared.js';
import { withApp, withReadDb } from '../app/composition-root.js';

/**
 * `nurture enrollments stuck`: wake-ups quarantined after their tries, and emails that gave up.
 * `nurture enrollments retry ID... | --all`: runs quarantined enrollments again (emails that gave
 * up are re-sent with `nurture touches retry`).
 */

export function stuckText(r: StuckReport, o: ViewOptions): string {
  const since = (iso: string) => `${relativeTime(new Date(iso), o.now)} (${formatInstant(new Date(iso), o.zone)})`;
  const lines: string[] = [];
  const { enrollments, sends } = r.counts;
  if (enrollments === 0 && sends === 0) return 'nothing is stuck: no quarantined enrollments, no emails that gave up';
  lines.push(`Enrollments quarantined (their wake-up failed every try): ${enrollments}`);
  if (r.wakeUps.length > 0) {
    const rows = r.wakeUps.map((w) => [w.enrollmentId, w.email, w.sequenceId, w.stepId ?? '-', String(w.tries), since(w.since), truncate(w.lastError ?? '-', 160)]);
    lines.push(...table(['ENROLLMENT', 'CONTACT', 'SEQUENCE', 'STEP', 'TRIES', 'SINCE', 'LAST ERROR'], rows));
    if (r.wakeUps.length < enrollments) lines.push(`  … and ${enrollments - r.wakeUps.length} more (--limit)`);
    lines.push('  Fix the cause, then: nurture enrollments retry ENROLLMENT... (or --all)');
  }
  lines.push('', `Emails that gave up (touch status failed): ${sends}`);
  if (r.sends.length > 0) {
    const rows = r.sends.map((s) => [s.touchId, s.email, s.sequenceId ?? '-', s.stepId, String(s.tries), since(s.since), truncate(s.lastError ?? '-', 160)]);
    lines.push(...table(['TOUCH', 'CONTACT', 'SEQUENCE', 'STEP', 'TRIES', 'SINCE', 'LAST ERROR'], rows));
    if (r.sends.length < sends) lines.push(`  … and ${sends - r.sends.length} more (--limit)`);
    lines.push('  Re-send with: nurture touches retry TOUCH (or --failed)');
  }
  return lines.join('\n');
}

export function retryText(r: RetryEnrollmentsResult): string {
  if (r.retried.length === 0) return 'no quarantined enrollments: nothing to retry';
  const n = r.retried.length;
  return [
    `released ${n} enrollment${n === 1 ? '' : 's'} from quarantine: ${r.retried.map((e) => e.enrollmentId).join(', ')}`,
    'the running engine offers their wake-ups within seconds; if they fail again they come back to: nurture enrollments stuck',
  ].join('\n');
}

export function register(program: Command): void {
  const cmd = program.command('enrollments').description('enrollments that are stuck (quarantined after failing) and retrying them');
  cmd
    .command('stuck')
    .description('quarantined wake-ups and emails that gave up: contact, sequence, step, tries, last error, since when')
    .option('--limit <n>', 'at most this many of each (default 100)')
    .option('--json', 'print JSON')
    .action(
      action(async (f: { limit?: string; json?: boolean }) => {
        const limit = parseLimit(f.limit, 100);
        const now = DateTime.now();
        const report = await withReadDb(config(), (db) => stuckEnrollments(db, { limit }));
        emit({ data: report, text: stuckText(report, { now }) } satisfies Rendered<StuckReport>, f.json);
      }),
    );
  cmd
    .command('retry')
    .description('run quarantined enrollments again (after fixing the cause)')
    .argument('[ids...]', 'enrollment ids (the ENROLLMENT column of: nurture enrollments stuck)')
    .option('--all', 'every quarantined enrollment')
    .option('--json', 'print JSON')
    .action(
      action(async (ids: string[], f: { all?: boolean; json?: boolean }) => {
        if (f.all && ids.length > 0) throw new InputError('nurture enrollments retry: give enrollment IDs or --all, not both');
        if (!f.all && ids.length === 0) throw new InputError('nurture enrollments retry: give enrollment IDs (the ENROLLMENT column of: nurture enrollments stuck) or --all');
        const r = await withApp(config(), (app) => retryEnrollments(app, f.all ? { all: true } : { ids }, DateTime.now()));
        emit({ data: { retried: r.retried }, text: retryText(r) }, f.json);
      }),
    );
}
