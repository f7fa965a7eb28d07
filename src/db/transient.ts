import { ServiceUnavailableError } from '../errors.js';

/**
 * Which database failures are worth trying again: the same work may succeed once the server is
 * back (restart, failover) or once a competing transaction is done (serialization, deadlock).
 */

/** Socket-level errors: the server went away or cannot be reached. */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);
/**
 * SQLSTATEs: 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now (starting up),
 * class 08 connection exceptions, 40001 serialization failure, 40P01 deadlock detected.
 */
const TRANSIENT_SQLSTATES = new Set(['57P01', '57P02', '57P03', '40001', '40P01']);
/** pg reports a dropped connection with a plain Error and no code; these are its words. */
const CONNECTION_MESSAGES =
  /Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect|terminating connection|Client was closed and is not queryable|the database system is (starting up|shutting down|in recovery mode)/i;

export function isTransientDbError(error: unknown): boolean {
  if (error instanceof ServiceUnavailableError) return true;
  if (typeof error !== 'object' || error === null) return false;
  const { code, message, errors, cause } = error as { code?: unknown; message?: unknown; errors?: unknown; cause?: unknown };
  if (typeof code === 'string' && (CONNECTION_CODES.has(code) || TRANSIENT_SQLSTATES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
  if (typeof message === 'string' && CONNECTION_MESSAGES.test(message)) return true;
  if (Array.isArray(errors) && errors.some(isTransientDbError)) return true; // AggregateError (several addresses)
  return cause !== undefined && cause !== error && isTransientDbError(cause);
}

export interface RetryOptions {
  /** Tries in all, the first included (default 6). */
  tries?: number;
  /** Wait before the second try; doubled each time, at most 5 s (default 250 ms). */
  firstDelayMs?: number;
  /** Told before each wait, e.g. to log it once per retry. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Which failures are tried again (default isTransientDbError). */
  retryable?: (error: unknown) => boolean;
}

/**
 * Runs `fn` (typically one whole transaction) again while it fails with a transient database
 * error, with exponential backoff; any other error, or the last transient one, is thrown as is.
 * `fn` must be safe to run again: a transaction that rolled back did nothing. It is told which
 * try this is (1 = the first), for work that changes with the try.
 */
export async function retryTransient<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const tries = opts.tries ?? 6;
  let delay = opts.firstDelayMs ?? 250;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= tries || !(opts.retryable ?? isTransientDbError)(error)) throw error;
      opts.onRetry?.(error, attempt, delay);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(5_000, delay * 2);
    }
  }
}
