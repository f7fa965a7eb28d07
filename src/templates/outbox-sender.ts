/**
 * MailSender adapter that writes each message as an RFC 822 `.eml` file instead of sending it:
 * `<dir>/<yyyy-mm-dd>/<messageId>.eml` (the UTC day of writing). For development, demos and
 * tests: open the files in a mail client, or parse them.
 *
 * Files are written atomically (a temporary file, then a rename), so a reader never sees half
 * a message. Sending the same messageId again the same day overwrites the file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { access, constants, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { NurtureError } from '../errors.js';
import { composeMime } from './compose-mime.js';
import { TransientSendError } from './mail-sender.js';
import type { MailSender, OutgoingMail, SendResult, TransportObservation, TransportOptions } from './mail-sender.js';

export interface OutboxSenderOptions extends TransportOptions {
  /** Clock for the day folder; the current time by default. */
  now?: () => Date;
}

export function createOutboxSender(dir: string, options: OutboxSenderOptions = {}): MailSender {
  const now = options.now ?? (() => new Date());
  // The outbox's "server" is its folder: reachable when it can be written.
  const tell = (seen: TransportObservation): TransportObservation => {
    options.onTransport?.(seen);
    return seen;
  };

  return {
    async send(mail: OutgoingMail): Promise<SendResult> {
      // Built first: a bad Message-ID is refused before any I/O. The text is the one SMTP sends.
      let raw: Buffer;
      try {
        raw = composeMime(mail).raw;
      } catch (err) {
        if (err instanceof NurtureError) throw err;
        throw new TransientSendError(`could not build the message to ${mail.to}: ${String(err)}`, { cause: err });
      }

      const dayDir = path.join(dir, now().toISOString().slice(0, 10));
      const file = path.join(dayDir, `${safeFileName(mail.messageId)}.eml`);
      const temp = path.join(dayDir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
      try {
        await mkdir(dayDir, { recursive: true });
        await writeFile(temp, raw, { flag: 'wx' });
        await rename(temp, file);
      } catch (err) {
        await rm(temp, { force: true }).catch(() => undefined);
        const code = (err as NodeJS.ErrnoException).code ?? String(err);
        tell({ reachable: false, reason: `cannot write ${dayDir} (${code})` });
        throw new TransientSendError(`could not write ${file} (${code}): check that the outbox folder is writable`, {
          cause: err,
        });
      }
      tell({ reachable: true });
      return { messageId: mail.messageId, accepted: true, response: `written to ${file}` };
    },

    async probe(): Promise<TransportObservation> {
      try {
        await mkdir(dir, { recursive: true });
        await access(dir, constants.W_OK);
        return tell({ reachable: true });
      } catch (err) {
        return tell({ reachable: false, reason: `cannot write ${dir} (${(err as NodeJS.ErrnoException).code ?? String(err)})` });
      }
    },

    async close(): Promise<void> {},

    describe(): string {
      return `outbox ${dir}`;
    },
  };
}

/**
 * A file name for a messageId: characters other than letters, digits, `.`, `_`, `-`, `@` and
 * `+` become `_`; when anything was changed (or the name is too long), a short hash of the
 * messageId is added so that two ids never share a file.
 */
export function safeFileName(messageId: string): string {
  let safe = messageId.replace(/[^A-Za-z0-9._@+-]/g, '_').replace(/^\./, '_');
  if (safe !== messageId || safe.length > 150) {
    const hash = createHash('sha256').update(messageId).digest('hex').slice(0, 10);
    safe = `${safe.slice(0, 150)}-${hash}`;
  }
  return safe;
}
