/**
 * Every error Nurture raises on purpose is a NurtureError with a literal `code`, so callers
 * (CLI, workers, HTTP) can decide what to print and whether to retry without string matching.
 * Messages are written for the marketer or operator who reads them, and say what and where.
 *
 * Each code is classed once: `permanent` (trying again cannot help: the input, a file or the
 * state is wrong) or `transient` (a service is away; the same work may succeed later). Exit
 * codes and HTTP statuses are derived from the code here and nowhere else.
 */
export const ERROR_CODES = {
  SEQUENCE_INVALID: { kind: 'permanent', exit: 1, http: 422 },
  TEMPLATE_INVALID: { kind: 'permanent', exit: 1, http: 422 },
  CONFIG_INVALID: { kind: 'permanent', exit: 1, http: 400 },
  INPUT_INVALID: { kind: 'permanent', exit: 1, http: 400 },
  NOT_FOUND: { kind: 'permanent', exit: 4, http: 404 },
  CONFLICT: { kind: 'permanent', exit: 5, http: 409 },
  MIGRATION_FAILED: { kind: 'permanent', exit: 1, http: 500 },
  /** A rule cannot be satisfied with the data given (a window that never opens, no business day in a year). */
  RULE_UNSATISFIABLE: { kind: 'permanent', exit: 1, http: 422 },
  /** A bug in Nurture: a state the code says cannot happen. */
  INTERNAL: { kind: 'permanent', exit: 3, http: 500 },
  SERVICE_UNAVAILABLE: { kind: 'transient', exit: 2, http: 503 },
  /** The mail server refused the message for good (5xx): resending the same message cannot help. */
  SEND_PERMANENT: { kind: 'permanent', exit: 1, http: 502 },
  /** The mail server did not take the message this time (4xx, connection lost before acceptance). */
  SEND_TRANSIENT: { kind: 'transient', exit: 2, http: 503 },
  /** Another transaction stored the same event id between this one's check and its insert: run it again. */
  EVENT_RACE: { kind: 'transient', exit: 2, http: 503 },
  /** JSON read back from the database fits no version of its schema: the row needs an upgrade step or a fix. */
  STORED_DATA_INVALID: { kind: 'permanent', exit: 3, http: 500 },
  /** An enrollment is pinned to a sequence version the database does not hold, or that no longer compiles. */
  SEQUENCE_VERSION_UNAVAILABLE: { kind: 'permanent', exit: 3, http: 500 },
  /** No credentials, or credentials that are not valid (a wrong key, a bad signature). */
  UNAUTHORIZED: { kind: 'permanent', exit: 1, http: 401 },
  /** Valid credentials or a valid request, refused here (an origin a form does not allow, a replayed webhook outside its window). */
  FORBIDDEN: { kind: 'permanent', exit: 1, http: 403 },
  /** A request body over the size limit. */
  PAYLOAD_TOO_LARGE: { kind: 'permanent', exit: 1, http: 413 },
  /** Too many requests from one client: try again after the time the answer names. */
  RATE_LIMITED: { kind: 'transient', exit: 2, http: 429 },
  /** A signed token (an unsubscribe, click or confirmation link) that was altered, is for another use, or has expired. */
  TOKEN_INVALID: { kind: 'permanent', exit: 1, http: 400 },
  /** scoring.yaml has problems (each with file, line and field). */
  SCORING_INVALID: { kind: 'permanent', exit: 1, http: 422 },
} as const satisfies Record<string, { kind: 'permanent' | 'transient'; exit: number; http: number }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export abstract class NurtureError extends Error {
  abstract readonly code: ErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Exit code of an error that ends a CLI command: 3 (a bug) for anything not raised on purpose. */
export function exitCodeOf(err: unknown): number {
  return err instanceof NurtureError ? ERROR_CODES[err.code].exit : ERROR_CODES.INTERNAL.exit;
}

/** What an error says, whatever was thrown. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** HTTP status of an error answered by the HTTP server. */
export function httpStatusOf(err: unknown): number {
  return err instanceof NurtureError ? ERROR_CODES[err.code].http : ERROR_CODES.INTERNAL.http;
}

/**
 * Whether trying the same work again may succeed. Errors Nurture did not raise itself are
 * classed by whoever catches them (a database data error is permanent, a dropped connection is
 * not): this answers for Nurture's own.
 */
export function isTransient(err: unknown): boolean {
  return err instanceof NurtureError && ERROR_CODES[err.code].kind === 'transient';
}

/** One problem found in a file a person wrote (a sequence, a template, a config file). */
export interface FileProblem {
  /** Path of the file, as the user named it (relative when possible). */
  file: string;
  /** Location inside the document, e.g. `steps[2].wait`; empty for the whole file. */
  path: string;
  /** 1-based line of `path` in the file, when known. */
  line?: number;
  message: string;
  severity: 'error' | 'warning';
}

export function formatProblem(p: FileProblem): string {
  const where = p.line ? `${p.file}:${p.line}` : p.file;
  const field = p.path ? ` ${p.path}:` : '';
  const tag = p.severity === 'warning' ? ' (warning)' : '';
  return `${where}:${field} ${p.message}${tag}`;
}

export class SequenceError extends NurtureError {
  readonly code = 'SEQUENCE_INVALID' as const;
  constructor(readonly problems: FileProblem[]) {
    super(problems.map(formatProblem).join('\n'));
  }
}

export class TemplateError extends NurtureError {
  readonly code = 'TEMPLATE_INVALID' as const;
  constructor(readonly problems: FileProblem[], options?: { cause?: unknown }) {
    super(problems.map(formatProblem).join('\n'), options);
  }
}

export class ConfigError extends NurtureError {
  readonly code = 'CONFIG_INVALID' as const;
}

/** A service Nurture needs (Redis, PostgreSQL, SMTP) is not answering; the message says how to start it. */
export class ServiceUnavailableError extends NurtureError {
  readonly code = 'SERVICE_UNAVAILABLE' as const;
}

/** A flag or argument given on the command line (or a field of a request) is not acceptable. */
export class InputError extends NurtureError {
  readonly code = 'INPUT_INVALID' as const;
}

/** A rule of a sequence cannot be met with the contact's data (the window never opens, no business day ahead). */
export class RuleError extends NurtureError {
  readonly code = 'RULE_UNSATISFIABLE' as const;
}

/** Something the code says cannot happen did: a bug to report, never the user's fault. */
export class InternalError extends NurtureError {
  readonly code = 'INTERNAL' as const;
}

export class NotFoundError extends NurtureError {
  readonly code = 'NOT_FOUND' as const;
}

/** The user asked for something the current state does not allow (e.g. completing a finished task). */
export class ConflictError extends NurtureError {
  readonly code = 'CONFLICT' as const;
}

export class MigrationError extends NurtureError {
  readonly code = 'MIGRATION_FAILED' as const;
}

/**
 * Another transaction stored the same event id between this one's check for it and its insert.
 * Transient: tried again, the event is then found stored and settled as a duplicate or a conflict.
 */
export class EventRaceError extends NurtureError {
  readonly code = 'EVENT_RACE' as const;
  constructor(readonly eventId: string) {
    super(`event ${eventId} was stored by another worker at the same moment; trying again`);
  }
}

/**
 * JSON read back from the database (an enrollment's state, a stored sequence definition, a
 * stored template) does not fit any version of its schema: `what` names the row, `field` the
 * place inside it. Retrying does not help; the row needs an upgrade step or a fix.
 */
export class StoredDataError extends NurtureError {
  readonly code = 'STORED_DATA_INVALID' as const;
  constructor(readonly what: string, readonly field: string, readonly reason: string, options?: { cause?: unknown }) {
    super(`${what}: ${field}: ${reason}`, options);
  }
}

/** An enrollment is pinned to a sequence version the database does not hold (nor can compile). */
export class SequenceVersionError extends NurtureError {
  readonly code = 'SEQUENCE_VERSION_UNAVAILABLE' as const;
}

/** A request without valid credentials (HTTP 401). */
export class UnauthorizedError extends NurtureError {
  readonly code = 'UNAUTHORIZED' as const;
}

/** A request refused although it is well formed (HTTP 403). */
export class ForbiddenError extends NurtureError {
  readonly code = 'FORBIDDEN' as const;
}

/** A signed link that does not verify: altered, meant for another use, or expired. Changes nothing. */
export class TokenError extends NurtureError {
  readonly code = 'TOKEN_INVALID' as const;
}

/** The scoring file (scoring.yaml) is not valid: every problem names file, line and field. */
export class ScoringError extends NurtureError {
  readonly code = 'SCORING_INVALID' as const;
  constructor(readonly problems: FileProblem[]) {
    super(problems.map(formatProblem).join('\n'));
  }
}

/** A field of a request (a form post) is not acceptable; `field` names it as the request gave it. */
export class FieldError extends NurtureError {
  readonly code = 'INPUT_INVALID' as const;
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

/**
 * A task was completed with an outcome its kind does not declare. `allowed` is the declared list
 * (empty for a kind nobody declared outcomes for), `suggestions` the likely typos of `given`.
 */
export class UnknownOutcomeError extends InputError {
  constructor(
    readonly kind: string,
    readonly given: string,
    readonly allowed: readonly string[],
    readonly suggestions: readonly string[],
    message: string,
  ) {
    super(message);
  }
}
