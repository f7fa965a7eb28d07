import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DateTime } from 'luxon';
import { insertMailRun, lockMailRuns, openMailTasks, tasksInUnconfirmedRuns } from '../db/mail-run-repository.js';
import type { MailKind, MailPiece, SkippedPiece } from '../staff/mail-piece.js';
import { csvRow, mailPiece, mailRunCsv } from '../staff/mail-piece.js';
import { renderMailRunPdf } from '../staff/mail-run-pdf.js';
import { mailRunDay } from '../staff/mail-run-day.js';
import type { AppContext } from './context.js';

export interface CreateMailRunInput {
  kind: MailKind;
  /** `today` or yyyy-mm-dd, in NURTURE_DEFAULT_TIMEZONE. */
  due: string;
  /** Where the CSV and the PDF go (created when missing). */
  outDir: string;
  /** Export pieces again that are already in a run nobody confirmed. */
  again?: boolean | undefined;
  /** Who made the run, recorded with it. */
  by: string;
  /** Font files for the PDF (see renderMailRunPdf); default Helvetica. */
  font?: { regular: string; bold?: string | undefined } | undefined;
  /** For tests; otherwise mr-DATE-KIND-random. */
  runId?: string | undefined;
}

export interface MailRunCreated {
  /** null: no piece to export (nothing due, or all skipped or held); no run was recorded. */
  runId: string | null;
  kind: MailKind;
  dueDate: string;
  zone: string;
  pieces: Pick<MailPiece, 'taskId' | 'email' | 'fullName'>[];
  files: { csv: string; pdf: string } | null;
  skipped: SkippedPiece[];
  /** Pieces left out because a run nobody confirmed has them (send --again to export them anyway). */
  held: { taskId: number; runId: string }[];
  /** Pieces whose text was cut to fit one page. */
  cut: number[];
}

/**
 * Exports the day's open postcards or letters for a print-and-mail vendor: a mail-merge CSV and a
 * print-ready PDF, recorded as a mail run. Nothing is marked sent here: that is `confirmMailRun`,
 * once the vendor has the files, so a failed upload leaves the pieces open for the next run.
 */
export async function createMailRun(ctx: AppContext, input: CreateMailRunInput, now: DateTime): Promise<MailRunCreated> {
  const { db, config } = ctx.deps;
  const day = mailRunDay(input.due, config.defaultZone, now);
  const createdAt = now.toJSDate();
  return db.transaction().execute(async (tx) => {
    await lockMailRuns(tx);
    const tasks = await openMailTasks(tx, input.kind, day.endExclusive);
    const inRuns = input.again ? new Map<number, string>() : await tasksInUnconfirmedRuns(tx, input.kind);
    const held: MailRunCreated['held'] = [];
    const pieces: MailPiece[] = [];
    const skipped: SkippedPiece[] = [];
    for (const t of tasks) {
      const runId = inRuns.get(t.id);
      if (runId) {
        held.push({ taskId: t.id, runId });
        continue;
      }
      const r = mailPiece(t);
      if (r.ok) pieces.push(r.piece);
      else skipped.push(r.skipped);
    }
    const base = { kind: input.kind, dueDate: day.date, zone: day.zone, skipped, held };
    if (pieces.length === 0) return { ...base, runId: null, pieces: [], files: null, cut: [] };

    const runId = input.runId ?? `mr-${day.date}-${input.kind}-${randomBytes(3).toString('hex')}`;
    const csv = mailRunCsv(pieces.map((p) => csvRow(runId, input.kind, p)));
    const pdf = await renderMailRunPdf({ runId, kind: input.kind, pieces, createdAt, font: input.font });
    const dir = path.resolve(input.outDir);
    await mkdir(dir, { recursive: true });
    const files = { csv: path.join(dir, `${runId}.csv`), pdf: path.join(dir, `${runId}.pdf`) };
    // Whole files or none: a vendor's pickup folder must never see half a PDF.
    await writeWhole(files.csv, csv);
    await writeWhole(files.pdf, pdf.bytes);
    await insertMailRun(tx, { id: runId, kind: input.kind, dueDate: day.date, taskIds: pieces.map((p) => p.taskId), files, createdAt, createdBy: input.by });
    ctx.log.info({ runId, kind: input.kind, dueDate: day.date, pieces: pieces.length, skipped: skipped.length, held: held.length }, 'mail run created');
    return {
      ...base,
      runId,
      pieces: pieces.map((p) => ({ taskId: p.taskId, email: p.email, fullName: p.fullName })),
      files,
      cut: pdf.cut,
    };
  });
}

async function writeWhole(file: string, data: string | Buffer): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, data, { flag: 'wx' });
  await rename(tmp, file);
}
