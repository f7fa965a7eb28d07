/** MailSender adapter for an SMTP server, through a pooled nodemailer transport. */
import nodemailer from 'nodemailer';
import { ConfigError, NurtureError } from '../errors.js';
import { PermanentSendError, TransientSendError, nodemailerMessage } from './mail-sender.js';
import type { MailSender, OutgoingMail, SendResult } from './mail-sender.js';

/**
 * Timeouts shorter than nodemailer's (2 minutes to connect, 10 minutes of silence): a worker
 * should give a dead server up and retry later rather than hold its job. Query parameters of
 * the URL override them, e.g. `smtp://host:587?connectionTimeout=30000&maxConnections=10`.
 */
const POOL_DEFAULTS = {
  pool: true,
  maxConnections: 5,
  connectionTimeout: 10_000,
  greetingTimeout: 10_000,
  socketTimeout: 60_000,
} as const;

/**
 * `smtpUrl`: `smtp://[user:pass@]host[:port]` (STARTTLS when the server offers it) or
 * `smtps://...` (TLS from the start, usually port 465).
 */
export function createSmtpSender(smtpUrl: string): MailSender {
  const where = describeSmtpUrl(smtpUrl);
  const transport = nodemailer.createTransport({ ...POOL_DEFAULTS, url: smtpUrl });
  let closed = false;

  return {
    async send(mail: OutgoingMail): Promise<SendResult> {
      if (closed) throw new TransientSendError(`the SMTP sender for ${where} is closed`);
      // Built first: a bad Message-ID is refused before any I/O.
      const message = nodemailerMessage(mail);
      let info;
      try {
        info = await transport.sendMail(message);
      } catch (err) {
        throw toSendError(err, mail, where);
      }
      const accepted = info.accepted.length > 0 && info.rejected.length === 0;
      if (!accepted) {
        throw new PermanentSendError(`${where} did not accept ${mail.to}: ${info.response}`);
      }
      return { messageId: mail.messageId, accepted, response: info.response };
    },

    async close(): Promise<void> {
      closed = true;
      transport.close();
    },

    describe(): string {
      return where;
    },
  };
}

/** `SMTP smtp://user@host:port`, never with the password. */
function describeSmtpUrl(smtpUrl: string): string {
  let url: URL;
  try {
    url = new URL(smtpUrl);
  } catch (err) {
    throw new ConfigError(`the SMTP URL is not a URL: write it as smtp://user:password@host:port`, { cause: err });
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    throw new ConfigError(`the SMTP URL must start with smtp:// or smtps://, not ${url.protocol}//`);
  }
  if (!url.hostname) throw new ConfigError('the SMTP URL has no host: write it as smtp://host:port');
  const port = url.port || (url.protocol === 'smtps:' ? '465' : '587');
  const user = url.username ? `${decodeURIComponent(url.username)}@` : '';
  return `SMTP ${url.protocol}//${user}${url.hostname}:${port}`;
}

interface NodemailerError {
  code?: string;
  responseCode?: number;
  response?: string;
  message?: string;
}

/**
 * A reply code of 500 or more means the server refused for good (unknown recipient, message
 * rejected, authentication refused): retrying will not help. Anything else (no connection,
 * 4xx, timeouts) is worth a retry.
 */
function toSendError(err: unknown, mail: OutgoingMail, where: string): NurtureError {
  if (err instanceof NurtureError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as NodemailerError;
  const responseCode = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const reason = (e.response ?? e.message ?? String(err)).trim();
  if (responseCode !== undefined && responseCode >= 500) {
    return new PermanentSendError(`${where} refused the message to ${mail.to}: ${reason}`, {
      cause: err,
      responseCode,
    });
  }
  if (responseCode === undefined && e.code === 'EENVELOPE') {
    // nodemailer itself found no usable sender or recipient address
    return new PermanentSendError(`cannot send to ${mail.to}: ${reason}`, { cause: err });
  }
  const hint = responseCode === undefined && isConnectionError(e) ? ': is the SMTP server running and reachable?' : '';
  return new TransientSendError(`sending to ${mail.to} through ${where} failed for now (${reason})${hint}`, {
    cause: err,
    responseCode,
  });
}

function isConnectionError(e: NodemailerError): boolean {
  return ['ECONNECTION', 'ESOCKET', 'ETIMEDOUT', 'EDNS', 'ECONNREFUSED'].includes(e.code ?? '');
}
