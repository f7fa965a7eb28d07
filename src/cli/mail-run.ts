import type { Command } from 'commander';
import { DateTime } from 'luxon';
import { withApp } from '../app/composition-root.js';
import type { MailRunConfirmed } from '../app/confirm-mail-run.js';
import { confirmMailRun } from '../app/confirm-mail-run.js';
import type { MailRunCreated } from '../app/create-mail-run.js';
import { createMailRun } from '../app/create-mail-run.js';
import { InputError } from '../errors.js';
import type { MailKind } from '../staff/mail-piece.js';
import { MAIL_KINDS } from '../staff/mail-piece.js';
import type { Rendered } from './format.js';
import { emit, parseChoice } from './format.js';
import { action, config } from './shared.js';

/** `nurture mail-run --kind postcard|letter --due today|DATE [--out DIR]` and `nurture mail-run --confirm RUN_ID`. */

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function createdText(r: MailRunCreated): string {
  const lines: string[] = [];
  const what = `${r.kind}s due by the end of ${r.dueDate} (${r.zone})`;
  if (r.runId && r.files) {
    lines.push(`mail run ${r.runId}: ${plural(r.pieces.length, r.kind)} (${what})`, `  csv  ${r.files.csv}`, `  pdf  ${r.files.pdf}`);
  } else {
    lines.push(`no mail run: no ${what} to export`);
  }
  if (r.cut.length) lines.push(`text cut to fit one page: ${r.cut.map((id) => `#${id}`).join(', ')} (shorten the template)`);
  if (r.skipped.length) {
    lines.push(`skipped ${r.skipped.length}:`);
    for (const s of r.skipped) lines.push(`  #${s.taskId}  ${s.email}: ${s.detail}`);
  }
  if (r.held.length) {
    const runs = [...new Set(r.held.map((h) => h.runId))];
    lines.push(
      `held ${r.held.length} already in ${runs.length === 1 ? 'the unconfirmed run' : 'unconfirmed runs'} ${runs.join(', ')}` +
        ` (confirm with: nurture mail-run --confirm ${runs[0]}, or export again with --again)`,
    );
  }
  if (r.runId) lines.push(`once the vendor has the files: nurture mail-run --confirm ${r.runId}`);
  return lines.join('\n');
}

export function confirmedText(r: MailRunConfirmed): string {
  if (r.alreadyConfirmed && r.sent.length === 0 && r.alreadySent.length === 0 && r.left.length === 0) {
    return `mail run ${r.runId} was already confirmed${r.confirmedBy ? ` by ${r.confirmedBy}` : ''} at ${r.confirmedAt.toISOString()}: nothing changed`;
  }
  const lines = [`mail run ${r.runId} confirmed: ${plural(r.sent.length, 'piece')} marked sent${r.alreadySent.length ? `, ${r.alreadySent.length} already were` : ''}`];
  if (r.left.length) {
    lines.push(`left as they are ${r.left.length}:`);
    for (const l of r.left) lines.push(`  #${l.taskId}  ${l.reason}`);
  }
  return lines.join('\n');
}

interface MailRunFlags {
  kind?: string;
  due: string;
  out: string;
  again?: boolean;
  confirm?: string;
  by: string;
  font?: string;
  boldFont?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('mail-run')
    .description("export the day's postcards or letters for a print vendor (CSV + PDF), then confirm them sent")
    .option('--kind <kind>', MAIL_KINDS.join(' or '))
    .option('--due <date>', 'today or yyyy-mm-dd (in NURTURE_DEFAULT_TIMEZONE): pieces due by the end of that day', 'today')
    .option('--out <dir>', 'where the CSV and the PDF are written', './mail-runs')
    .option('--again', 'also export pieces already in a run nobody confirmed')
    .option('--confirm <runId>', 'the vendor has the run: mark its pieces done as sent')
    .option('--font <file>', 'a TrueType/OpenType font for the PDF, for names beyond Western European letters (e.g. DejaVuSans.ttf)')
    .option('--bold-font <file>', 'its bold face, for the subject lines (default: --font)')
    .option('--by <name>', 'who makes or confirms the run (recorded with it)', 'cli')
    .option('--json', 'print JSON')
    .action(
      action(async (f: MailRunFlags) => {
        const now = DateTime.now();
        if (f.confirm !== undefined) {
          if (f.kind !== undefined) throw new InputError('--confirm takes no --kind: the run knows its pieces');
          const runId = f.confirm.trim();
          const r = await withApp(config(), (app) => confirmMailRun(app, runId, f.by, now));
          emit({ data: r, text: confirmedText(r) } satisfies Rendered<MailRunConfirmed>, f.json);
          return;
        }
        const kind: MailKind | undefined = parseChoice('--kind', f.kind, MAIL_KINDS);
        if (!kind) throw new InputError('--kind: say postcard or letter (or --confirm RUN_ID)');
        if (f.boldFont !== undefined && f.font === undefined) throw new InputError('--bold-font goes with --font (the regular face)');
        const font = f.font === undefined ? undefined : { regular: f.font, bold: f.boldFont };
        const r = await withApp(config(), (app) => createMailRun(app, { kind, due: f.due, outDir: f.out, again: f.again, by: f.by, font }, now));
        emit({ data: r, text: createdText(r) } satisfies Rendered<MailRunCreated>, f.json);
      }),
    );
}
