/**
 * Every error Nurture raises on purpose is a NurtureError with a literal `code`, so callers
 * (CLI, workers) can decide what to print and whether to retry without string matching.
 * Messages are written for the marketer or operator who reads them, and say what and where.
 */
export abstract class NurtureError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
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
