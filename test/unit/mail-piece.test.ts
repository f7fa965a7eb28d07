import fc from 'fast-check';
import { DateTime } from 'luxon';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import type { MailTask } from '../../src/staff/mail-piece.js';
import { MAIL_CSV_COLUMNS, addressLines, csvRow, mailPiece, mailRunCsv } from '../../src/staff/mail-piece.js';
import { mailRunDay } from '../../src/staff/mail-run-day.js';

const BERLIN = { line1: 'Hauptstraße 5', city: 'Berlin', postalCode: '10115', country: 'Germany' };
const CHICAGO = { line1: '233 S Wacker Dr', line2: 'Suite 100', city: 'Chicago', region: 'IL', postalCode: '60606', country: 'US' };

function task(over: Partial<MailTask> = {}, contact: Partial<MailTask['contact']> = {}): MailTask {
  return {
    id: 7,
    kind: 'postcard',
    address: CHICAGO,
    content: { subject: 'Hello', html: '<p>Hi Ann</p>', text: 'Hi Ann,\nsee you soon.' },
    ...over,
    contact: { email: 'ann@example.com', firstName: 'Ann', lastName: 'Lee', address: null, attributes: {}, addressBadAt: null, ...contact },
  };
}

describe('mailPiece', () => {
  it('maps a task to the CSV row and a US address block', () => {
    const r = mailPiece(task({}, { attributes: { company: 'Acme Inc' } }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.piece.addressLines).toEqual(['Ann Lee', 'Acme Inc', '233 S Wacker Dr', 'Suite 100', 'Chicago, IL 60606', 'US']);
    expect(r.piece.text).toBe('Hi Ann,\nsee you soon.');
    expect(csvRow('mr-1', 'postcard', r.piece)).toEqual({
      run_id: 'mr-1',
      piece_id: '7',
      kind: 'postcard',
      full_name: 'Ann Lee',
      first_name: 'Ann',
      last_name: 'Lee',
      company: 'Acme Inc',
      address_line1: '233 S Wacker Dr',
      address_line2: 'Suite 100',
      city: 'Chicago',
      state: 'IL',
      postal_code: '60606',
      country: 'US',
    });
  });

  it('writes the postal code first outside North America and Australia, and on its own line in the UK', () => {
    expect(addressLines('Jo Beck', '', { ...BERLIN, line2: '', region: '' })).toEqual(['Jo Beck', 'Hauptstraße 5', '10115 Berlin', 'GERMANY']);
    expect(addressLines('', '', { line1: '10 Downing St', line2: '', city: 'London', region: '', postalCode: 'SW1A 2AA', country: 'UK' })).toEqual([
      '10 Downing St',
      'LONDON',
      'SW1A 2AA',
      'UK',
    ]);
  });

  it("falls back to the contact's address when the task was made without one", () => {
    const r = mailPiece(task({ address: null }, { address: BERLIN }));
    expect(r.ok && r.piece.address).toMatchObject({ line1: 'Hauptstraße 5', postalCode: '10115' });
  });

  it('skips a contact whose address came back, with the date', () => {
    const r = mailPiece(task({}, { addressBadAt: new Date('2026-11-30T08:00:00Z') }));
    expect(r).toEqual({ ok: false, skipped: { taskId: 7, email: 'ann@example.com', reason: 'address_bad', detail: expect.stringContaining('2026-11-30') } });
  });

  it('skips a task with no address, an incomplete one (naming the fields) and one with no text', () => {
    expect(mailPiece(task({ address: null }))).toMatchObject({ ok: false, skipped: { reason: 'no_address', detail: 'no postal address on file' } });
    expect(mailPiece(task({ address: { line1: 'x', city: ' ', country: 'US' } }))).toMatchObject({
      ok: false,
      skipped: { reason: 'address_incomplete', detail: 'the address has no city, postalCode' },
    });
    expect(mailPiece(task({ address: 'not an object' }))).toMatchObject({ skipped: { reason: 'no_address' } });
    expect(mailPiece(task({ content: { subject: 'x', text: '  ' } }))).toMatchObject({ skipped: { reason: 'no_content' } });
    expect(mailPiece(task({ content: null }))).toMatchObject({ skipped: { reason: 'no_content' } });
  });

  const field = fc.string({ maxLength: 30 });
  const given = fc.record({ line1: field, line2: field, city: field, region: field, postalCode: field, country: field }, { requiredKeys: [] });

  it('any stored address gives a piece with every given field in its block, one field per line and no empty or multi-line entry, or a skip naming the missing fields', () => {
    fc.assert(
      fc.property(given, field, field, (address, firstName, lastName) => {
        const r = mailPiece(task({ address }, { firstName, lastName }));
        const has = (k: keyof typeof address) => (address[k] ?? '').replace(/[\u0000-\u001f\u007f\s]+/g, '') !== '';
        const missing = (['line1', 'city', 'postalCode', 'country'] as const).filter((k) => !has(k));
        if (!r.ok) {
          expect(missing.length).toBeGreaterThan(0);
          return;
        }
        expect(missing).toEqual([]);
        for (const l of r.piece.addressLines) {
          expect(l.trim()).not.toBe('');
          expect(l).not.toMatch(/[\r\n]/);
        }
        const block = r.piece.addressLines.join('\n').toUpperCase();
        for (const v of [r.piece.address.line1, r.piece.address.line2, r.piece.address.postalCode, r.piece.address.city, r.piece.address.country]) {
          expect(block).toContain(v.toUpperCase());
        }
        const row = csvRow('mr-x', 'letter', r.piece);
        expect(Object.keys(row)).toEqual([...MAIL_CSV_COLUMNS]);
        for (const v of Object.values(row)) expect(v).not.toMatch(/[\r\n]/);
      }),
    );
  });
});

describe('mailRunCsv', () => {
  it('has the header first and reads back to the same cells; a formula-like cell is quoted with an apostrophe', () => {
    const r = mailPiece(task({}, { firstName: '=HYPERLINK("x")', lastName: 'O"Neil, Jr' }));
    if (!r.ok) throw new Error('expected a piece');
    const rows = parse(mailRunCsv([csvRow('mr-1', 'postcard', r.piece)])) as string[][];
    expect(rows[0]).toEqual([...MAIL_CSV_COLUMNS]);
    expect(rows[1]![MAIL_CSV_COLUMNS.indexOf('first_name')]).toBe(`'=HYPERLINK("x")`);
    expect(rows[1]![MAIL_CSV_COLUMNS.indexOf('last_name')]).toBe('O"Neil, Jr');
  });
});

describe('mailRunDay', () => {
  const NOW = DateTime.fromISO('2026-12-03T23:30:00Z'); // already Dec 4 in Berlin

  it('today is the local day in the zone; the run takes what is due before the next local midnight', () => {
    expect(mailRunDay('today', 'Europe/Berlin', NOW)).toEqual({ date: '2026-12-04', endExclusive: new Date('2026-12-04T23:00:00Z'), zone: 'Europe/Berlin' });
    expect(mailRunDay('today', 'America/Chicago', NOW)).toEqual({ date: '2026-12-03', endExclusive: new Date('2026-12-04T06:00:00Z'), zone: 'America/Chicago' });
  });

  it('a given date ends at its local midnight, across a DST change', () => {
    expect(mailRunDay('2026-03-08', 'America/New_York', NOW).endExclusive).toEqual(new Date('2026-03-09T04:00:00Z'));
    expect(mailRunDay('2026-03-07', 'America/New_York', NOW).endExclusive).toEqual(new Date('2026-03-08T05:00:00Z'));
  });

  it('a date that does not exist is an InputError naming --due', () => {
    expect(() => mailRunDay('2026-02-30', 'UTC', NOW)).toThrow(InputError);
    expect(() => mailRunDay('tomorrow', 'UTC', NOW)).toThrow(/--due: "tomorrow" is not a date/);
  });
});
