import PDFDocument from 'pdfkit';
import { InputError } from '../errors.js';
import type { MailKind, MailPiece } from './mail-piece.js';

/**
 * The print file of a mail run: one A4 page per piece, folded in thirds into a DL window envelope.
 *
 * Geometry (DIN 5008 form B, the layout DL window envelopes to DIN 680 are made for: window
 * 90 x 45 mm, 20 mm from the left and 15 mm from the bottom of the 220 x 110 mm envelope):
 * - the address field is 85 x 45 mm, 20 mm from the left edge and 45 mm from the top of the page;
 * - its first 17.7 mm are the endorsement zone (left empty: a vendor may print postage or a
 *   return address there); the recipient block sits in the 27.3 mm below it, from 62.7 mm down,
 *   6 lines of 10 pt Helvetica (the size shrinks when a block has more lines or a wider line, so
 *   nothing leaves the window);
 * - fold marks at 105 mm and 210 mm and the punch mark at 148.5 mm, on the left edge;
 * - the piece's text from 100 mm down, 25 mm left and 20 mm right margins, down to 20 mm above
 *   the bottom; a longer text is set smaller (down to 7 pt) and then cut, so every piece stays
 *   one page and the page count always equals the piece count.
 * Postcards use the same page: the vendor prints and inserts every piece of a run alike.
 */

const MM = 72 / 25.4;
const PAGE = { width: 210 * MM, height: 297 * MM };
export const ADDRESS_FIELD_MM = { left: 20, top: 45, width: 85, height: 45, endorsement: 17.7 } as const;
const BLOCK_TOP = (ADDRESS_FIELD_MM.top + ADDRESS_FIELD_MM.endorsement) * MM;
const BLOCK_HEIGHT = (ADDRESS_FIELD_MM.height - ADDRESS_FIELD_MM.endorsement) * MM;
const BLOCK_WIDTH = ADDRESS_FIELD_MM.width * MM;
const BODY = { left: 25 * MM, top: 100 * MM, width: (210 - 25 - 20) * MM, bottom: (297 - 20) * MM };
const FONT = 'Helvetica';
const BOLD = 'Helvetica-Bold';
const LEADING = 1.2;

export interface MailRunPdfInput {
  runId: string;
  kind: MailKind;
  pieces: MailPiece[];
  /** Written into the file's metadata, so the same run renders the same bytes. */
  createdAt: Date;
  /**
   * A TrueType/OpenType font file for everything on the page (the bold one for the subject,
   * default the same). Without it: Helvetica, which has the Western European letters only.
   */
  font?: { regular: string; bold?: string | undefined } | undefined;
}

export interface MailRunPdf {
  bytes: Buffer;
  /** Pieces whose text did not fit one page even at the smallest size and was cut. */
  cut: number[];
}

export async function renderMailRunPdf(input: MailRunPdfInput): Promise<MailRunPdf> {
  const doc = new PDFDocument({
    size: 'A4',
    margin: 0,
    autoFirstPage: false,
    info: { Title: `Mail run ${input.runId} (${input.kind}s)`, Creator: 'Nurture', CreationDate: input.createdAt, ModDate: input.createdAt },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const fonts = { regular: FONT, bold: BOLD };
  if (input.font) {
    // Embedded (subset) in the PDF: the vendor's printer needs no fonts of its own.
    for (const [name, file] of [
      ['custom', input.font.regular],
      ['custom-bold', input.font.bold ?? input.font.regular],
    ] as const) {
      try {
        doc.registerFont(name, file);
        doc.font(name); // loads it now: a bad file is said before any page is made
      } catch (err) {
        const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
        throw new InputError(`font ${file}: ${why} (give a TrueType or OpenType font file, e.g. /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf)`, { cause: err });
      }
    }
    fonts.regular = 'custom';
    fonts.bold = 'custom-bold';
  }
  const cut: number[] = [];
  for (const piece of input.pieces) {
    doc.addPage({ size: 'A4', margin: 0 });
    marks(doc);
    addressBlock(doc, fonts, piece.addressLines);
    if (!body(doc, fonts, piece)) cut.push(piece.taskId);
    doc
      .font(fonts.regular)
      .fontSize(7)
      .fillColor('#666666')
      .text(`${input.runId} / piece ${piece.taskId}`, BODY.left, PAGE.height - 12 * MM, { lineBreak: false })
      .fillColor('black');
  }
  doc.end();
  return { bytes: await done, cut };
}

function marks(doc: PDFKit.PDFDocument): void {
  doc.lineWidth(0.5).strokeColor('#999999');
  for (const [y, length] of [
    [105, 5],
    [148.5, 7],
    [210, 5],
  ] as const) {
    doc.moveTo(5 * MM, y * MM).lineTo((5 + length) * MM, y * MM).stroke();
  }
  doc.strokeColor('black');
}

type Fonts = { regular: string; bold: string };

function addressBlock(doc: PDFKit.PDFDocument, fonts: Fonts, lines: string[]): void {
  doc.font(fonts.regular);
  let size = Math.min(10, BLOCK_HEIGHT / (Math.max(lines.length, 1) * LEADING));
  doc.fontSize(size);
  const widest = Math.max(...lines.map((l) => doc.widthOfString(l)), 1);
  if (widest > BLOCK_WIDTH) size = (size * BLOCK_WIDTH) / widest;
  doc.fontSize(size);
  lines.forEach((line, i) => {
    doc.text(line, ADDRESS_FIELD_MM.left * MM, BLOCK_TOP + i * size * LEADING, { lineBreak: false, width: BLOCK_WIDTH });
  });
}

/** Subject and text; false when the text had to be cut to stay on the page. */
function body(doc: PDFKit.PDFDocument, fonts: Fonts, piece: MailPiece): boolean {
  let top = BODY.top;
  if (piece.subject) {
    doc.font(fonts.bold).fontSize(11);
    doc.text(piece.subject, BODY.left, top, { width: BODY.width });
    top = doc.y + 4 * MM;
  }
  const room = BODY.bottom - top;
  doc.font(fonts.regular);
  for (const size of [11, 10, 9, 8, 7]) {
    doc.fontSize(size);
    if (doc.heightOfString(piece.text, { width: BODY.width, lineGap: size * (LEADING - 1) }) <= room) {
      doc.text(piece.text, BODY.left, top, { width: BODY.width, lineGap: size * (LEADING - 1) });
      return true;
    }
  }
  doc.text(piece.text, BODY.left, top, { width: BODY.width, height: room, ellipsis: true, lineGap: 7 * (LEADING - 1) });
  return false;
}
