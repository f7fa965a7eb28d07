/**
 * The mail port: what the email worker needs from whatever delivers mail. Adapters:
 * smtp-sender.ts (a real SMTP server, through nodemailer) and outbox-sender.ts (.eml files
 * in a folder, for development and tests).
 *
 * Contract:
 * - `send` delivers one message, or throws PermanentSendError (retrying cannot help: the
 *   recipient or the message was refused) or TransientSendError (retry later: the server is
 *   down, busy or answered 4xx). Any other error is a bug.
 * - The Message-ID header is exactly `<messageId>`, so a message sent twice (a retried job)
 *   can be recognised downstream, and replies and bounces can be matched to it.
 * - `close` ends pooled connections; `send` must not be called after it.
 * - `describe` names the destination for logs, without credentials.
 * - Whether the transport itself could be reached (not whether one message was accepted) goes
 *   to the adapter's `onTransport` observer after every send that reached the point of talking
 *   to it; `probe` finds it out without sending, for a transport known to be down.
 */
import { NurtureError } from '../errors.js';

export interface OutgoingMail {
  from: string;
  to: string;
  subject: string;
  html: string;
  text: string;
  /** `id-left@id-right`, without `<>`, e.g. `enr-42-step-3@mail.example.com`. */
  messageId: string;
  /** Extra headers, e.g. `List-Unsubscribe`. */
  headers?: Record<string, string>;
}

export interface SendResult {
  /** The messageId that was sent (without `<>`). */
  messageId: string;
  /** Whether the server took the message for the recipient. */
  accepted: boolean;
  /** The server's last answer (e.g. `250 2.0.0 Ok: queued as ...`), or where the message was written. */
  response: string;
}

export interface MailSender {
  send(mail: OutgoingMail): Promise<SendResult>;
  close(): Promise<void>;
  describe(): string;
  /** Checks that the transport can be reached now, without sending; told to `onTransport` too. */
  probe?(): Promise<TransportObservation>;
}

/**
 * What a send or probe found out about the transport: a server that answered, even with a
 * refusal, is reachable; no connection, a timeout, no greeting or no DNS answer is not.
 */
export type TransportObservation = { reachable: true } | { reachable: false; reason: string };

export interface TransportOptions {
  onTransport?: (seen: TransportObservation) => void;
}

/** The message or the recipient was refused (5xx, recipient rejected): retrying will not help. */
export class PermanentSendError extends NurtureError {
  readonly code = 'SEND_PERMANENT' as const;
  /** The SMTP reply code, when the server gave one. */
  readonly responseCode: number | undefined;
  /**
   * The address itself was refused (unknown mailbox, no such domain: see smtp-refusal.ts), not
   * just this message: the address is a hard bounce and is never mailed again.
   */
  readonly recipientRefused: boolean;
  constructor(message: string, options?: { cause?: unknown; responseCode?: number | undefined; recipientRefused?: boolean }) {
    super(message, options);
    this.responseCode = options?.responseCode;
    this.recipientRefused = options?.recipientRefused ?? false;
  }
}

/** Sending failed for now (connection refused, 4xx, timeout): retry later. */
export class TransientSendError extends NurtureError {
  readonly code = 'SEND_TRANSIENT' as const;
  /** The SMTP reply code, when the server gave one. */
  readonly responseCode: number | undefined;
  /**
   * The message was on its way when the sending stopped (the thread that held it died), so the
   * server may have taken it: the retry is in doubt, like the one after a crash.
   */
  readonly mayHaveArrived: boolean;
  constructor(message: string, options?: { cause?: unknown; responseCode?: number | undefined; mayHaveArrived?: boolean }) {
    super(message, options);
    this.responseCode = options?.responseCode;
    this.mayHaveArrived = options?.mayHaveArrived ?? false;
  }
}

/**
 * Checks a messageId and returns the Message-ID header value `<messageId>`. A malformed id is
 * a PermanentSendError: sending the same message again cannot fix it.
 */
export function messageIdHeader(messageId: string): string {
  // dot-atom-text "@" dot-atom-text (RFC 5322 msg-id), as far as a header can tell.
  if (!/^[^\s<>@"()\\,;:[\]]+@[^\s<>@"()\\,;:[\]]+$/.test(messageId)) {
    throw new PermanentSendError(
      `messageId ${JSON.stringify(messageId)} is not a valid Message-ID: it must look like local@domain, without <>, spaces or quotes`,
    );
  }
  return `<${messageId}>`;
}
