/** MailSender adapter for an SMTP server, through a pooled nodemailer transport. */
import nodemailer from 'nodemailer';
import { ConfigError, NurtureError } from '../errors.js';
import { composeMime } from './compose-mime.js';
import { PermanentSendError, TransientSendError } from './mail-sender.js';
import { refusalOf } from './smtp-refusal.js';
import type { MailSender, OutgoingMail, SendResult, TransportObservation, TransportOptions } from './mail-sender.js';

export const DEFAULT_MAX_CONNECTIONS = 5;

/**
 * Timeouts shorter than nodemailer's (2 minutes to connect, 10 minutes of silence): a worker
 * should give a dead server up and retry later rather than hold its job. Query parameters of
 * the URL override them, e.g. `smtp://host:587?connectionTimeout=30000&maxConnections=10`.
 */
const POOL_DEFAULTS = {
  pool: true,
  maxConnections: DEFAULT_MAX_CONNECTIONS,
  connectionTimeout: 10_000,
  greetingTimeout: 10_000,
  socketTimeout: 60_000,
} as const;

export interface SmtpPoolOptions {
  /** Connections open at once (NURTURE_SMTP_MAX_CONNECTIONS); default 5. */
  maxConnections?: number | undefined;
  /**
   * Messages per second across the pool (NURTURE_SMTP_RATE_PER_SECOND); unset: as fast as the
   * server takes them. Over the limit, nodemailer holds messages back (it does not fail them).
   */
  ratePerSecond?: number | undefined;
}

/**
 * Headers the DKIM signature covers: nodemailer's default list (RFC 4871 5.5) plus
 * List-Unsubscribe-Post, which RFC 8058 requires to be signed together with List-Unsubscribe,
 * so nobody on the way can turn a one-click link into something else.
 */
export const DKIM_SIGNED_HEADERS =
  'From:Sender:Reply-To:Subject:Date:Message-ID:To:Cc:MIME-Version:Content-Type:Content-Transfer-Encoding:Content-ID:' +
  'Content-Description:Resent-Date:Resent-From:Resent-Sender:Resent-To:Resent-Cc:Resent-Message-ID:In-Reply-To:References:' +
  'List-Id:List-Help:List-Unsubscribe:List-Unsubscribe-Post:List-Subscribe:List-Post:List-Owner:List-Archive';

export interface DkimKey {
  domainName: string;
  keySelector: string;
  /** PEM. */
  privateKey: string;
}

/**
 * `smtpUrl`: `smtp://[user:pass@]host[:port]` (STARTTLS when the server offers it) or
 * `smtps://...` (TLS from the start, usually port 465). With `dkim`, every message is signed.
 */
export function createSmtpSender(smtpUrl: string, options: TransportOptions & SmtpPoolOptions & { dkim?: DkimKey | undefined } = {}): MailSender {
  const where = describeSmtpUrl(smtpUrl);
  const dkim = options.dkim ? { ...options.dkim, headerFieldNames: DKIM_SIGNED_HEADERS } : undefined;
  const pool = {
    ...POOL_DEFAULTS,
    ...(options.maxConnections !== undefined ? { maxConnections: options.maxConnections } : {}),
    // nodemailer counts `rateLimit` messages per `rateDelta` milliseconds, per pool.
    ...(options.ratePerSecond !== undefined ? { rateLimit: options.ratePerSecond, rateDelta: 1000 } : {}),
  };
  const transport = nodemailer.createTransport({ ...pool, url: smtpUrl, ...(dkim ? { dkim } : {}) });
  let closed = false;
  const tell = (seen: TransportObservation): TransportObservation => {
    options.onTransport?.(seen);
    return seen;
  };
  const afterFailure = (err: unknown): void => {
    const e = err as NodemailerError | undefined;
    // EENVELOPE without a reply: nodemailer found no usable address before any I/O.
    if (e?.code === 'EENVELOPE' && typeof e.responseCode !== 'number') return;
    const reason = transportDownReason(err);
    tell(reason === undefined ? { reachable: true } : { reachable: false, reason });
  };

  return {
    async send(mail: OutgoingMail): Promise<SendResult> {
      if (closed) throw new TransientSendError(`the SMTP sender for ${where} is closed`);
      // Built first: a bad Message-ID is refused before any I/O.
      const message = composeMime(mail);
      let info;
      try {
        info = await transport.sendMail(message);
      } catch (err) {
        afterFailure(err);
        throw toSendError(err, mail, where);
      }
      tell({ reachable: true });
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

    async probe(): Promise<TransportObservation> {
      try {
        // Its own connection (not one of the pool's): connects, reads the greeting, says EHLO, logs in.
        await transport.verify();
        return tell({ reachable: true });
      } catch (err) {
        const reason = transportDownReason(err);
        return tell(reason === undefined ? { reachable: true } : { reachable: false, reason });
      }
    },

    describe(): string {
      return where;
    },
  };
}

/** `SMTP smtp://user@host:port`, never with the password. */
export function describeSmtpUrl(smtpUrl: string): string {
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
  /** The SMTP command the reply answered (`RCPT TO`, `DATA`). */
  command?: string;
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
    const refused = refusalOf({ responseCode, response: e.response, command: e.command });
    return new PermanentSendError(`${where} refused ${refused === 'recipient' ? 'the address' : 'the message to'} ${mail.to}: ${reason}`, {
      cause: err,
      responseCode,
      recipientRefused: refused === 'recipient',
    });
  }
  if (responseCode === undefined && e.code === 'EENVELOPE') {
    // nodemailer itself found no usable sender or recipient address
    return new PermanentSendError(`cannot send to ${mail.to}: ${reason}`, { cause: err });
  }
  const hint = transportDownReason(err) !== undefined ? ': is the SMTP server running and reachable?' : '';
  return new TransientSendError(`sending to ${mail.to} through ${where} failed for now (${reason})${hint}`, {
    cause: err,
    responseCode,
  });
}

/** nodemailer's codes for a conversation that could not take place, and the system's beneath them. */
const TRANSPORT_DOWN_CODES = new Set([
  'ECONNECTION', 'ESOCKET', 'ETIMEDOUT', 'EDNS',
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND',
]);

/**
 * Why the server could not be reached (refused, timed out, never greeted, no DNS answer, or 421
 * "service not available"), or undefined when it answered: a 4xx or 5xx about one message says
 * the server is there.
 */
export function transportDownReason(err: unknown): string | undefined {
  const e = (typeof err === 'object' && err !== null ? err : {}) as NodemailerError & { originalCode?: string };
  if (typeof e.responseCode === 'number') {
    return e.responseCode === 421 ? (e.response ?? e.message ?? '421').trim() : undefined;
  }
  if (!TRANSPORT_DOWN_CODES.has(e.code ?? '') && !TRANSPORT_DOWN_CODES.has(e.originalCode ?? '')) return undefined;
  const code = e.originalCode && !(e.message ?? '').includes(e.originalCode) ? ` (${e.originalCode})` : '';
  return `${(e.message ?? String(err)).trim()}${code}`;
}
