/**
 * The MIME text of an OutgoingMail, built at once into one Buffer, with the envelope to send it
 * under. nodemailer builds a message as a tree of streams (a pipeline, an AbortController and a
 * random boundary per part, then one socket write per chunk): measured on the burst bench, that
 * was about 60 % of the CPU one delivery costs, against a prebuilt message sent as `raw`.
 *
 * The text is still nodemailer's: its MimeNode writes, encodes and folds the headers (addresses,
 * encoded words, punycode), picks each part's transfer encoding and derives the envelope, and its
 * quoted-printable and base64 encoders encode the bodies, as its streams would. Only the streaming
 * is left out. test/unit/compose-mime.test.ts holds it to what nodemailer composes itself.
 */
import { randomBytes } from 'node:crypto';
import MimeNode from 'nodemailer/lib/mime-node';
import * as base64 from 'nodemailer/lib/base64';
import * as qp from 'nodemailer/lib/qp';
import type { OutgoingMail } from './mail-sender.js';
import { messageIdHeader } from './mail-sender.js';

export interface ComposedMail {
  envelope: { from: string; to: string[] };
  /** `<id>`: given to nodemailer with the raw text, so it does not draw one of its own. */
  messageId: string;
  /** The whole message, lines ended by CRLF. */
  raw: Buffer;
}

/**
 * A boundary must not occur in the parts it separates, and contact data goes into the parts:
 * whoever could guess the next boundary could end a message's text early and add a part of their
 * own (a first name of 100 characters is room enough). So every message gets 8 bytes of its own
 * from the random source, as nodemailer draws them, but sliced from a pool filled 4 KiB at a time
 * instead of a call into the source per message. Nothing about one message's boundary tells
 * another's.
 */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let taken = POOL_BYTES;

function freshBoundary(): string {
  if (taken + 8 > pool.length) {
    pool = randomBytes(POOL_BYTES);
    taken = 0;
  }
  const hex = pool.toString('hex', taken, taken + 8);
  taken += 8;
  return hex;
}

/** `date`: the Date header; `baseBoundary`: for tests that compare texts (a fresh random one otherwise). */
export function composeMime(mail: OutgoingMail, o: { date?: Date; baseBoundary?: string } = {}): ComposedMail {
  const baseBoundary = o.baseBoundary ?? freshBoundary();
  const parts = [
    ...(mail.text ? [{ contentType: 'text/plain; charset=utf-8', content: mail.text }] : []),
    ...(mail.html ? [{ contentType: 'text/html; charset=utf-8', content: mail.html }] : []),
  ];
  // As nodemailer's MailComposer: multipart/alternative for text and html, one part for one.
  const single = parts.length <= 1;
  const root = new MimeNode(single ? (parts[0]?.contentType ?? 'text/plain') : 'multipart/alternative', { baseBoundary });
  const children = single ? [] : parts.map((p) => root.createChild(p.contentType, { baseBoundary }).setContent(p.content));
  if (single) root.setContent(parts[0]?.content ?? '');
  // Custom headers first, then the message's own, which replace any custom one of the same name.
  if (mail.headers) root.addHeader(mail.headers);
  root.setHeader('From', mail.from);
  root.setHeader('To', mail.to);
  root.setHeader('Subject', mail.subject);
  const messageId = messageIdHeader(mail.messageId);
  root.setHeader('Message-ID', messageId);
  if (o.date) root.setHeader('Date', o.date);
  const out: string[] = [root.buildHeaders(), '\r\n\r\n'];
  if (single) {
    // nodemailer ends a body that does not end with a line break with one (an empty body gets none).
    const text = body(root);
    out.push(text === '' || text.endsWith('\r\n') ? text : `${text}\r\n`);
  } else {
    children.forEach((child, i) => {
      out.push(i > 0 ? '\r\n' : '', '--', String(root.boundary), '\r\n', child.buildHeaders(), '\r\n\r\n', body(child));
    });
    out.push('\r\n--', String(root.boundary), '--\r\n');
  }
  const envelope = root.getEnvelope();
  return { envelope: { from: envelope.from || '', to: envelope.to }, messageId, raw: Buffer.from(out.join(''), 'utf8') };
}

/** A text part's content as its transfer encoding has it, lines ended by CRLF. */
function body(node: MimeNode): string {
  const content = String(node.content ?? '');
  switch (node.getTransferEncoding()) {
    case 'quoted-printable':
      // Text: a line break is a line break (CRLF), as nodemailer's encoder has it for text/*.
      return qp.wrap(qp.encode(Buffer.from(content.replace(/\r?\n|\r/g, '\r\n'), 'utf8')), 76);
    case 'base64':
      return base64.wrap(base64.encode(Buffer.from(content, 'utf8')), 76);
    default:
      return content.replace(/\r?\n|\r/g, '\r\n');
  }
}
