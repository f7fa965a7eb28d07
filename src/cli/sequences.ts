import type { Command } from 'commander';
import { DateTime } from 'luxon';
import { withApp, withReadDb } from '../app/composition-root.js';
import { SWEEPER_NOTE, hasWork } from '../app/scheduler.js';
import { pauseSequence } from '../app/pause-sequence.js';
import { resumeSequence } from '../app/resume-sequence.js';
import { RETIRED_REASON, retireSequence } from '../app/retire-sequence.js';
import type { RetirePlan, SequenceListing } from '../queries/sequences.js';
import { listSequences, retirePlan } from '../queries/sequences.js';
import type { Rendered } from './format.js';
import { emit, table } from './format.js';
import { EXIT_INVALID, action, config, stdout } from './shared.js';

/** `nurture sequences list | pause ID | resume ID | retire ID [--yes]`. */

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

export function sequencesText(rows: readonly SequenceListing[]): string {
  if (rows.length === 0) return 'no sequences in the store yet (nurture start publishes the sequences directory)';
  return table(
    ['ID', 'STATUS', 'VERSION', 'FILE', 'ACTIVE', 'PAUSED', 'COMPLETED', 'EXITED', 'CONVERTED'],
    rows.map((s) => [
      s.id,
      s.status,
      s.liveVersion.slice(0, 12),
      s.sourceFile ?? '-',
      String(s.enrollments.active),
      String(s.enrollments.paused),
      String(s.enrollments.completed),
      String(s.enrollments.exited),
      String(s.enrollments.converted),
    ]),
    '',
  ).join('\n');
}

export function retirePlanText(p: RetirePlan): string[] {
  const s = p.sequence;
  const lines = [`sequence ${s.id} (${s.sourceFile ?? 'no file recorded'}): ${s.status}, version ${s.liveVersion.slice(0, 12)}`];
  if (p.contacts === 0) lines.push('  no contacts in flight');
  else {
    lines.push(`  ${plural(p.contacts, 'contact')} in flight will exit the sequence now (exited, reason ${RETIRED_REASON}):`);
    for (const st of p.steps) lines.push(`    ${plural(st.contacts, 'contact')} at step ${st.stepId ?? '(none)'}`);
  }
  lines.push(`  ${plural(p.emails, 'unsent email')} and ${plural(p.tasks, 'open staff task')} will be cancelled`);
  lines.push('  no trigger enrolls anyone in it again, even if its file comes back, until: nurture sequences resume ' + s.id);
  return lines;
}

export function register(program: Command): void {
  const sequences = program.command('sequences').description('the sequences in the store: list, pause, resume, retire');
  sequences
    .command('list', { isDefault: true })
    .description('every sequence: status, live version, source file, and its enrollments by state')
    .option('--json', 'print JSON')
    .action(
      action(async (o: { json?: boolean }) => {
        const data = await withReadDb(config(), (db) => listSequences(db));
        emit({ data, text: sequencesText(data) }, o.json);
      }),
    );
  sequences
    .command('pause')
    .description('no new enrollments; contacts in flight are held where they are (wake-ups and unsent emails kept) until resume')
    .argument('<id>', 'sequence id')
    .option('--json', 'print JSON')
    .action(
      action(async (id: string, o: { json?: boolean }) => {
        const r = await withApp(config(), (app) => pauseSequence(app.deps, id, DateTime.utc()));
        const text = r.already
          ? `sequence ${id} was already paused; nothing changed`
          : `sequence ${id} is paused: ${plural(r.heldEnrollments, 'contact')} in flight held, ${plural(r.heldEmails, 'unsent email')} held; ` +
            `no trigger enrolls into it (running engines see it in their next batch of events). Resume with: nurture sequences resume ${id}`;
        emit({ data: r, text }, o.json);
      }),
    );
  sequences
    .command('resume')
    .description('make a paused (or retired) sequence live again; held contacts continue where they were')
    .argument('<id>', 'sequence id')
    .option('--json', 'print JSON')
    .action(
      action(async (id: string, o: { json?: boolean }) => {
        const r = await withApp(config(), (app) => resumeSequence(app, id, DateTime.utc()));
        const parts = [`sequence ${id} is live${r.previous === 'live' ? ' (it was already)' : ` (was ${r.previous})`}`];
        if (r.released) parts.push(`${plural(r.released, 'contact')} continue where they were; waits that ended during the pause run once, now`);
        if (r.stillHeld) parts.push(`${plural(r.stillHeld, 'contact')} stay held: they are paused themselves (nurture contacts resume EMAIL)`);
        if (r.cancelledEmails) parts.push(`${plural(r.cancelledEmails, 'held email')} cancelled: their enrollment ended during the pause`);
        if (hasWork(r.after)) parts.push(SWEEPER_NOTE);
        const { after: _after, ...data } = r;
        emit({ data, text: parts.join('; ') }, o.json);
      }),
    );
  sequences
    .command('retire')
    .description('end a sequence for good: shows what happens to contacts in flight, and needs --yes')
    .argument('<id>', 'sequence id')
    .option('--yes', 'retire it: contacts in flight exit (reason retired), unsent emails and open tasks are cancelled')
    .option('--json', 'print JSON')
    .action(
      action(async (id: string, o: { yes?: boolean; json?: boolean }) => {
        const cfg = config();
        const plan = await withReadDb(cfg, (db) => retirePlan(db, id));
        if (!o.yes) {
          const result: Rendered<unknown> = { data: { plan, retired: false }, text: [...retirePlanText(plan), `not retired: run again with --yes to retire ${id}`].join('\n') };
          emit(result, o.json);
          return EXIT_INVALID;
        }
        const r = await withApp(cfg, (app) => retireSequence(app.deps, id, DateTime.utc()));
        if (o.json) stdout.json({ plan, retired: true, result: r });
        else {
          for (const line of retirePlanText(plan)) stdout.line(line);
          stdout.line(
            `sequence ${id} is retired: ${plural(r.exited, 'contact')} exited (reason ${RETIRED_REASON}), ${plural(r.cancelledEmails, 'email')} and ${plural(r.cancelledTasks, 'task')} cancelled`,
          );
        }
      }),
    );
}
