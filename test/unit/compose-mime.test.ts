import fc from 'fast-check';
import { simpleParser } from 'mailparser';
import MailComposer from 'nodemailer/lib/mail-composer';
import { describe, expect, it } from 'vitest';
import { composeMime } from '../../src/templates/compose-mime.js';
import { PermanentSendError } from '../../src/templates/mail-sender.js';
import type { OutgoingMail } from '../../src/templates/mail-sender.js';

/** What nodemailer composes for the same mail, as its SMTP data stream puts it on the wire (CRLF). */
async function nodemailerText(mail: OutgoingMail, date: Date, baseBoundary: string): Promise<string> {
  const node = new MailComposer({
    from: mail.from,
    to: mail.to,
    subject: mail.subject,
    html: mail.html,
    text: mail.text,
    messageId: `<${mail.messageId}>`,
    date,
    baseBoundary,
    ...(mail.headers ? { headers: mail.headers } : {}),
  }).compile();
  const built = await node.build();
  return built.toString('utf8').replace(/\r?\n/g, '\r\n');
}

const DATE = new Date('2026-12-04T09:30:00Z');
const mail = (over: Partial<OutgoingMail> = {}): OutgoingMail => ({
  from: 'Nurture <hello@example.com>',
  to: 'ada@example.com',
  subject: 'Welcome Ada',
  html: '<p>Hi Ada, welcome aboard.</p>',
  text: 'Hi Ada, welcome aboard.',
  messageId: 'enr-1-step-2@mail.example.com',
  headers: { 'List-Unsubscribe': '<https://nurture.example.com/u/t.1>', 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
  ...over,
});

describe('composeMime', () => {
  // The cases where nodemailer picks each encoding and folds: the text must be its text.
  const cases: [string, Partial<OutgoingMail>][] = [
    ['plain ASCII (7bit)', {}],
    ['accents in names, subject and body (quoted-printable, encoded words, punycode)', { from: 'Nürture Team <hello@example.com>', to: 'José <jose@exämple.com>', subject: 'Wélcome José', html: '<p>Hi José</p>', text: 'Hi José' }],
    ['mostly non-Latin text (base64)', { subject: 'Добро пожаловать', html: '<p>Привет, добро пожаловать</p>', text: 'Привет, добро пожаловать' }],
    ['long lines and a long subject (soft breaks, folding)', { subject: `A subject ${'that goes on '.repeat(12)}`, html: `<p>${'word '.repeat(60)}</p>`, text: 'x'.repeat(300) }],
    ['dots and bare line feeds at line starts', { html: '<p>a</p>\n.\n.b', text: 'line one\n.dot\r\nlast' }],
    ['trailing whitespace before line breaks', { html: '<p>a </p>  \n<p>b</p>', text: 'a \nb\t\nc ' }],
    ['no text part (one part, not multipart)', { text: '' }],
    ['no text and no html (an empty body)', { text: '', html: '' }],
    ['a custom header that repeats a message header is replaced by it', { headers: { Subject: 'ignored', 'X-Campaign': 'c1' } }],
  ];
  it.each(cases)('writes what nodemailer writes: %s', async (_name, over) => {
    const m = mail(over);
    const ours = composeMime(m, { date: DATE, baseBoundary: 'b0' }).raw.toString('utf8');
    expect(ours).toBe(await nodemailerText(m, DATE, 'b0'));
  });

  it('gives the envelope nodemailer derives from the headers, with punycode, and the Message-ID', () => {
    const c = composeMime(mail({ from: '"Team, Nurture" <hello@example.com>', to: 'José <jose@exämple.com>' }));
    expect(c.envelope).toEqual({ from: 'hello@example.com', to: ['jose@xn--exmple-cua.com'] });
    expect(c.messageId).toBe('<enr-1-step-2@mail.example.com>');
  });

  const boundaryOf = (t: string) => /boundary="([^"]+)"/.exec(t)![1]!;

  it('gives every message a boundary of its own: nothing in one tells another', () => {
    // The random part of each (nodemailer's prefix and part number around it).
    const randoms = Array.from({ length: 1000 }, () => /^--_NmP-([0-9a-f]{16})-Part_1$/.exec(boundaryOf(composeMime(mail()).raw.toString()))![1]!);
    // Not one shared start of 12 hex digits (48 bits) among 1,000: no counter, no common prefix to learn.
    expect(new Set(randoms.map((r) => r.slice(0, 12))).size).toBe(1000);
  });

  it("cannot be ended early by a contact's text that carries a boundary seen in another message", async () => {
    const seen = boundaryOf(composeMime(mail()).raw.toString());
    const injected = `Hi x\r\n--${seen}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<h1>log in</h1>\r\n--${seen}--\r\n`;
    const raw = composeMime(mail({ text: injected, html: `<p>${injected}</p>` })).raw;
    const parsed = await simpleParser(raw);
    expect(parsed.text).toBe(injected.replace(/\r\n/g, '\n'));
    expect(parsed.html).toBe(`<p>${injected}</p>`.replace(/\r\n/g, '\n'));
    expect(parsed.attachments).toEqual([]);
  });

  it('refuses a malformed Message-ID before anything is built', () => {
    expect(() => composeMime(mail({ messageId: 'no at sign' }))).toThrow(PermanentSendError);
  });

  it('keeps every line within 998 characters and ends every line with CRLF', () => {
    const raw = composeMime(mail({ subject: 'word '.repeat(400).trim(), html: 'h'.repeat(5000), text: 't'.repeat(5000) })).raw.toString();
    expect(raw.split('\r\n').every((line) => line.length <= 998 && !line.includes('\n') && !line.includes('\r'))).toBe(true);
  });

  it('reads back as the mail it was made from, whatever the text (parsed by mailparser)', async () => {
    // Names and text of any Unicode, with the characters that need quoting or encoding.
    const text = fc.string({ unit: fc.oneof(fc.constantFrom('a', 'Z', ' ', '.', '=', '"', ',', '<', 'é', 'ß', 'Ж', '中', '😀', '\n', '\t'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: 200 });
    const name = fc.string({ unit: fc.constantFrom('a', 'B', ' ', 'é', '"', ',', 'Ж', '😀', "'"), minLength: 1, maxLength: 30 }).filter((s) => s.trim() === s && s.trim().length > 0);
    await fc.assert(
      fc.asyncProperty(name, name, fc.string({ unit: fc.constantFrom('a', ' ', 'é', 'Ж', '😀', ':', '=', '?'), maxLength: 120 }).map((s) => s.trim().replace(/ +/g, ' ')), text, text, async (fromName, toName, subject, html, body) => {
        const m = mail({ from: `"${fromName.replace(/(["\\])/g, '\\$1')}" <hello@example.com>`, to: `"${toName.replace(/(["\\])/g, '\\$1')}" <ada@example.com>`, subject, html: `<p>${html}</p>`, text: body.trim() === '' ? 'x' : body });
        const parsed = await simpleParser(composeMime(m).raw);
        expect(parsed.from?.value[0]).toEqual({ address: 'hello@example.com', name: fromName });
        const to = Array.isArray(parsed.to) ? parsed.to[0] : parsed.to;
        expect(to?.value[0]).toEqual({ address: 'ada@example.com', name: toName });
        expect(parsed.subject ?? '').toBe(subject);
        expect(parsed.messageId).toBe('<enr-1-step-2@mail.example.com>');
        // The same text, up to how its line breaks are written (CRLF on the wire, as given inside base64).
        const lines = (t: string | false | undefined) => String(t).replace(/\r\n|\r|\n/g, '\n');
        expect(lines(parsed.html)).toBe(lines(m.html));
        expect(lines(parsed.text)).toBe(lines(m.text));
        expect(parsed.headerLines.find((h) => h.key === 'list-unsubscribe-post')?.line).toBe('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
      }),
      { numRuns: 150 },
    );
  });
});
