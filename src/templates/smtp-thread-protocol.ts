/**
 * What threaded-smtp-sender.ts and its threads (smtp-thread.ts) say to each other. Errors cross
 * the thread boundary as plain data and become the same typed errors on the other side, so the
 * engine cannot tell a threaded sender from one in its own thread.
 */
import { InternalError } from '../errors.js';
import { PermanentSendError, TransientSendError } from './mail-sender.js';
import type { OutgoingMail, SendResult, TransportObservation } from './mail-sender.js';
import type { DkimKey } from './smtp-sender.js';

/** What a thread is started with (workerData): its own share of the pool. */
export interface SmtpThreadData {
  smtpUrl: string;
  maxConnections: number;
  ratePerSecond: number | undefined;
  dkim: DkimKey | undefined;
}

export type ToThread =
  | { kind: 'send'; id: number; mail: OutgoingMail }
  | { kind: 'probe'; id: number }
  | { kind: 'close' };

export type FromThread =
  /** The thread's pool is built: from now on a death is one of a running thread. */
  | { kind: 'ready' }
  | { kind: 'sent'; id: number; result: SendResult }
  | { kind: 'failed'; id: number; error: WireError }
  | { kind: 'probed'; id: number; seen: TransportObservation }
  | { kind: 'transport'; seen: TransportObservation };

/** An error as data: its kind, what the typed errors carry, and what caused it (nodemailer's code and reply). */
export interface WireError {
  kind: 'permanent' | 'transient' | 'other';
  message: string;
  responseCode: number | undefined;
  recipientRefused: boolean;
  mayHaveArrived: boolean;
  cause: { message: string; code: string | undefined; responseCode: number | undefined } | undefined;
}

function causeOf(err: unknown): WireError['cause'] {
  if (err === undefined) return undefined;
  const e = (typeof err === 'object' && err !== null ? err : {}) as { message?: unknown; code?: unknown; responseCode?: unknown };
  return {
    message: typeof e.message === 'string' ? e.message : String(err),
    code: typeof e.code === 'string' ? e.code : undefined,
    responseCode: typeof e.responseCode === 'number' ? e.responseCode : undefined,
  };
}

export function errorToWire(err: unknown): WireError {
  if (err instanceof PermanentSendError) {
    return { kind: 'permanent', message: err.message, responseCode: err.responseCode, recipientRefused: err.recipientRefused, mayHaveArrived: false, cause: causeOf(err.cause) };
  }
  if (err instanceof TransientSendError) {
    return { kind: 'transient', message: err.message, responseCode: err.responseCode, recipientRefused: false, mayHaveArrived: err.mayHaveArrived, cause: causeOf(err.cause) };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { kind: 'other', message, responseCode: undefined, recipientRefused: false, mayHaveArrived: false, cause: causeOf(err instanceof Error ? err.cause : undefined) };
}

function causeFromWire(c: WireError['cause']): Error | undefined {
  if (!c) return undefined;
  return Object.assign(new Error(c.message), { ...(c.code !== undefined ? { code: c.code } : {}), ...(c.responseCode !== undefined ? { responseCode: c.responseCode } : {}) });
}

export function errorFromWire(w: WireError): Error {
  const cause = causeFromWire(w.cause);
  if (w.kind === 'permanent') return new PermanentSendError(w.message, { cause, responseCode: w.responseCode, recipientRefused: w.recipientRefused });
  if (w.kind === 'transient') return new TransientSendError(w.message, { cause, responseCode: w.responseCode, mayHaveArrived: w.mayHaveArrived });
  // Not a send error: a bug in the thread, said as one rather than retried as if the server were away.
  return new InternalError(`the SMTP thread failed: ${w.message}`, { cause });
}
