import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { DateTime } from 'luxon';
import { withApp } from '../app/composition-root.js';
import { SWEEPER_NOTE, hasWork } from '../app/scheduler.js';
import { enrollContact } from '../app/enroll-contact.js';
import type { ImportSummary } from '../app/import-contacts.js';
import { importContacts, parseMapping } from '../app/import-contacts.js';
import { pauseContact } from '../app/pause-contact.js';
import { REMOVED_REASON, removeEnrollment } from '../app/remove-enrollment.js';
import { resumeContact } from '../app/resume-contact.js';
import { setContactStage } from '../app/set-contact-stage.js';
import { InputError } from '../errors.js';
import { emit } from './format.js';
import { EXIT_INVALID, action, config } from './shared.js';

/**
 * Manual control of contacts: `nurture contacts enroll | remove | pause | resume | import`. Each
 * is one use case in src/app; this file parses flags and prints. These commands hold no queue:
 * follow-up work they commit is in the database, where the running engine's sweeper finds it.
 */

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
const SHOWN_PROBLEMS = 100;

export function registerManage(contacts: Command): void {
  contacts
    .command('enroll')
    .description("enroll a contact in a live sequence by hand (its re-entry rules apply; --force overrides them, and only them)")
    .argument('<email>', 'the contact')
    .requiredOption('--sequence <id>', 'sequence id')
    .option('--force', 'enroll even if the re-entry policy (once, after: N days) says no; never twice at once, never an unsubscribed contact or a lead')
    .option('--templates <dir>', 'directory of templates (a first step may render a postcard or letter)', './templates')
    .option('--json', 'print JSON')
    .action(
      action(async (email: string, o: { sequence: string; force?: boolean; templates: string; json?: boolean }) => {
        const r = await withApp(config(), (app) => enrollContact(app, email, o.sequence, DateTime.utc(), { force: o.force ?? false }), { templatesDir: o.templates });
        const where = r.status === 'active' ? `at step ${r.stepId ?? '(start)'}` : `and already ${r.status}`;
        const forced = r.forced ? ` (re-entry overridden: ${r.forced})` : '';
        const text = `${r.email} enrolled in ${r.sequenceId}@${r.version.slice(0, 12)}${forced}, ${where}${hasWork(r.after) ? `; ${SWEEPER_NOTE}` : ''}`;
        const { after: _after, ...data } = r;
        emit({ data, text }, o.json);
      }),
    );
  contacts
    .command('remove')
    .description(`take a contact out of a sequence: exited (reason ${REMOVED_REASON}), unsent emails and open tasks cancelled`)
    .argument('<email>', 'the contact')
    .requiredOption('--sequence <id>', 'sequence id')
    .option('--json', 'print JSON')
    .action(
      action(async (email: string, o: { sequence: string; json?: boolean }) => {
        const r = await withApp(config(), (app) => removeEnrollment(app.deps, email, o.sequence, DateTime.utc()));
        const text = `${r.email} removed from ${r.sequenceId} (exited, reason ${REMOVED_REASON}): ${plural(r.cancelledEmails, 'unsent email')} and ${plural(r.cancelledTasks, 'open task')} cancelled`;
        emit({ data: r, text }, o.json);
      }),
    );
  contacts
    .command('stage')
    .description("set a contact's stage by hand (a sale closed: customer; not a fit: disqualified): recorded with the reason, fed to sequences as stage_changed; customer and disqualified end nurture")
    .argument('<email>', 'the contact')
    .requiredOption('--to <stage>', 'subscriber, engaged, mql, lead, customer or disqualified')
    .option('--reason <text>', 'why, kept in the contact\'s stage history')
    .option('--json', 'print JSON')
    .action(
      action(async (email: string, o: { to: string; reason?: string; json?: boolean }) => {
        const r = await withApp(config(), (app) => setContactStage(app, { email, to: o.to, reason: o.reason }, DateTime.utc()));
        const text = r.changed ? `${r.email}: ${r.from} -> ${r.to}` : `${r.email} is already ${r.to}; nothing changed`;
        emit({ data: r, text }, o.json);
      }),
    );
  contacts
    .command('pause')
    .description('nothing goes out to the contact and their wake-ups are held, until resume')
    .argument('<email>', 'the contact')
    .option('--json', 'print JSON')
    .action(
      action(async (email: string, o: { json?: boolean }) => {
        const r = await withApp(config(), (app) => pauseContact(app.deps, email, DateTime.utc()));
        const tasks = r.openTasks ? `; ${plural(r.openTasks, 'open staff task')} stay open: hold them by hand (nurture tasks --contact ${r.email})` : '';
        const text = r.already
          ? `${r.email} was already paused; nothing changed${tasks}`
          : `${r.email} is paused: ${plural(r.heldEnrollments, 'enrollment')} and ${plural(r.heldEmails, 'unsent email')} held${tasks}. Resume with: nurture contacts resume ${r.email}`;
        emit({ data: r, text }, o.json);
      }),
    );
  contacts
    .command('resume')
    .description('resume a paused contact where they were (a wait that ended meanwhile runs once, now: no burst)')
    .argument('<email>', 'the contact')
    .option('--json', 'print JSON')
    .action(
      action(async (email: string, o: { json?: boolean }) => {
        const r = await withApp(config(), (app) => resumeContact(app, email, DateTime.utc()));
        const parts = [r.wasPaused ? `${r.email} is resumed` : `${r.email} was not paused`];
        if (r.released) parts.push(`${plural(r.released, 'enrollment')} continue where they were`);
        if (r.stillHeld) parts.push(`${plural(r.stillHeld, 'enrollment')} stay held: their sequence is paused (nurture sequences resume ID)`);
        if (r.cancelledEmails) parts.push(`${plural(r.cancelledEmails, 'held email')} cancelled: the enrollment ended during the pause`);
        if (hasWork(r.after)) parts.push(SWEEPER_NOTE);
        const { after: _after, ...data } = r;
        emit({ data, text: parts.join('; ') }, o.json);
      }),
    );
  contacts
    .command('import')
    .description('create or refresh contacts from a CSV file (header line first); --enroll also opts them in')
    .argument('<file>', 'CSV file')
    .option('--map <pairs>', 'FIELD=COLUMN,...: email, firstName, lastName, phone, timezone, line1, line2, city, region, postalCode, country, tags, attributes.NAME (default: by header name)')
    .option('--source <tag>', 'tag for every imported contact, and data.source of their opt-ins (default: the file name)')
    .option('--enroll', 'record an opt_in event for each row (now), so sequences that trigger on it enroll them')
    .option('--templates <dir>', 'directory of templates (with --enroll, first steps may render pieces)', './templates')
    .option('--json', 'print the summary as JSON')
    .action(
      action(async (file: string, o: { map?: string; source?: string; enroll?: boolean; templates: string; json?: boolean }) => {
        const map = parseMapping(o.map);
        const source = (o.source ?? path.basename(file, path.extname(file))).trim();
        if (!/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/.test(source)) throw new InputError(`--source: "${source}" is not a tag (letters, digits, "_", ".", ":", "-"; up to 64)`);
        const size = await stat(file).then(
          (s) => s.size,
          () => {
            throw new InputError(`${file}: no such file`);
          },
        );
        const bar = process.stderr.isTTY && !o.json ? new SingleBar({ format: 'importing [{bar}] {percentage}% | {rows} rows | {eta_formatted} left', stream: process.stderr, hideCursor: true }) : undefined;
        bar?.start(size, 0, { rows: 0 });
        let summary: ImportSummary;
        try {
          summary = await withApp(
            config(),
            (app) =>
              importContacts(app, { name: file, stream: createReadStream(file) }, { map, source, enroll: o.enroll ?? false, onProgress: (p) => bar?.update(p.bytes, { rows: p.rows }) }, DateTime.utc()),
            { templatesDir: o.templates },
          );
          bar?.update(size);
        } finally {
          bar?.stop();
        }
        emit({ data: summary, text: importText(summary) }, o.json);
        return summary.invalid.length > 0 ? EXIT_INVALID : 0;
      }),
    );
}

export function importText(s: ImportSummary): string {
  const lines: string[] = [];
  for (const p of s.invalid.slice(0, SHOWN_PROBLEMS)) {
    const column = p.column ? ` (column "${p.column}")` : '';
    lines.push(`${s.file}:${p.line}: ${p.field}${column}: ${p.value === '' ? '' : `"${p.value}" `}${p.message}`);
  }
  if (s.invalid.length > SHOWN_PROBLEMS) lines.push(`... and ${s.invalid.length - SHOWN_PROBLEMS} more invalid rows (all of them: --json)`);
  const rate = s.seconds > 0 ? `, ${Math.round(s.rows / s.seconds)} rows/s` : '';
  lines.push(
    `${s.file}: ${plural(s.rows, 'row')} read; ${plural(s.imported, 'contact')} imported (${s.created} new, ${s.updated} updated), tagged ${s.source}; ` +
      `${plural(s.invalid.length, 'invalid row')} skipped${s.merged ? `; ${plural(s.merged, 'row')} repeated an email and were merged` : ''} (${s.seconds.toFixed(1)} s${rate})`,
  );
  lines.push(`columns: ${Object.entries(s.mapping).map(([f, c]) => `${f}=${c}`).join(', ')}${s.ignoredColumns.length ? `; ignored: ${s.ignoredColumns.join(', ')} (import them with --map attributes.NAME=COLUMN)` : ''}`);
  if (s.enroll) {
    lines.push(
      `opt-ins: ${s.enroll.applied} recorded, ${s.enroll.duplicate} already recorded by an earlier run of this import; ${plural(s.enroll.enrollments, 'enrollment')} made; ${SWEEPER_NOTE}`,
    );
  } else {
    lines.push('no opt-in recorded and nobody enrolled (use --enroll to opt them in now)');
  }
  return lines.join('\n');
}
