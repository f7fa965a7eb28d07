import { existsSync } from 'node:fs';
import { getDocumentProxy } from 'unpdf';
import { describe, expect, it } from 'vitest';
import type { MailPiece } from '../../src/staff/mail-piece.js';
import { InputError } from '../../src/errors.js';
import { renderMailRunPdf } from '../../src/staff/mail-run-pdf.js';

// Debian's fonts-dejavu-core (in the image and on CI machines).
const DEJAVU = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';

const MM = 72 / 25.4;

function piece(taskId: number, text: string, addressLines: string[]): MailPiece {
  const address = { line1: 'x', line2: '', city: 'x', region: '', postalCode: 'x', country: 'x' };
  return { taskId, email: 'a@example.com', firstName: 'A', lastName: 'B', fullName: 'A B', company: '', address, addressLines, subject: 'Hi', text };
}

async function pages(bytes: Buffer) {
  const pdf = await getDocumentProxy(new Uint8Array(bytes));
  const out: { str: string; x: number; y: number; width: number }[][] = [];
  for (let i = 1; i <= pdf.numPages; i++) {
    const page = await pdf.getPage(i);
    const c = await page.getTextContent();
    out.push(
      (c.items as { str?: string; transform: number[]; width: number }[]).flatMap((it) =>
        it.str?.trim() ? [{ str: it.str, x: it.transform[4]! / MM, y: (page.view[3]! - it.transform[5]!) / MM, width: it.width / MM }] : [],
      ),
    );
  }
  await pdf.destroy();
  return out;
}

describe('renderMailRunPdf', () => {
  it('keeps a text too long for a page on its one page, and says it was cut', async () => {
    const long = Array.from({ length: 400 }, (_, i) => `Paragraph ${i} of a letter nobody will read to the end.`).join('\n');
    const r = await renderMailRunPdf({ runId: 'mr-x', kind: 'letter', pieces: [piece(1, long, ['A B']), piece(2, 'Short.', ['C D'])], createdAt: new Date('2026-12-03T10:00:00Z') });
    expect(r.cut).toEqual([1]);
    const read = await pages(r.bytes);
    expect(read).toHaveLength(2);
    expect(read[0]!.some((it) => it.str.includes('Paragraph 0 of'))).toBe(true);
    expect(read[0]!.some((it) => it.str.includes('Paragraph 399'))).toBe(false);
  });

  it('a block of many lines, one of them long, stays inside the 85 x 27.3 mm recipient zone', async () => {
    const lines = ['Dr. Alexandra Montgomery-Fitzwilliam-Smythe', 'International Widgets and Sprockets Holdings Ltd', 'Flat 12', '221B Baker Street', 'LONDON', 'Greater London', 'NW1 6XE', 'UNITED KINGDOM'];
    const r = await renderMailRunPdf({ runId: 'mr-x', kind: 'letter', pieces: [piece(1, 'Hello.', lines)], createdAt: new Date('2026-12-03T10:00:00Z') });
    const [page] = await pages(r.bytes);
    for (const line of lines) {
      const it = page!.find((i) => i.str === line);
      expect(it, line).toBeDefined();
      expect(it!.x).toBeGreaterThanOrEqual(19.9);
      expect(it!.x + it!.width).toBeLessThanOrEqual(20 + 85 + 0.1);
      expect(it!.y).toBeGreaterThan(62.7);
      expect(it!.y).toBeLessThanOrEqual(90);
    }
  });

  it.skipIf(!existsSync(DEJAVU))('with a font file of its own, names beyond Western European letters print', async () => {
    const lines = ['Łukasz Żółć', 'ul. Świętokrzyska 31', '00-049 Warszawa', 'POLAND'];
    const r = await renderMailRunPdf({ runId: 'mr-x', kind: 'letter', pieces: [{ ...piece(1, 'Дякую!', lines), subject: 'Ευχαριστώ' }], createdAt: new Date(), font: { regular: DEJAVU } });
    const strings = (await pages(r.bytes))[0]!.map((i) => i.str);
    for (const l of [...lines, 'Дякую!', 'Ευχαριστώ']) expect(strings).toContain(l);
  });

  it('a font file that is missing or no font is an InputError naming it', async () => {
    const input = (font: string) => ({ runId: 'mr-x', kind: 'letter' as const, pieces: [piece(1, 'Hi', ['A B'])], createdAt: new Date(), font: { regular: font } });
    await expect(renderMailRunPdf(input('/nope/Font.ttf'))).rejects.toThrow(new InputError('font /nope/Font.ttf: no such file (give a TrueType or OpenType font file, e.g. /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf)'));
    await expect(renderMailRunPdf(input(import.meta.filename))).rejects.toThrow(/^font .*mail-run-pdf\.test\.ts: Unknown font format/);
  });
});
