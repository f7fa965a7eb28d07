/** What a database error's SQLSTATE says about it. Both pg and PGlite put the SQLSTATE in `code`. */
function sqlStateOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code: unknown = Reflect.get(err, 'code');
  return typeof code === 'string' ? code : undefined;
}

/**
 * PostgreSQL's SQLSTATE classes 22 (data exception: a value out of range, a NUL byte, a bad
 * Unicode escape) and 23 (integrity constraint violation): the database refuses these values and
 * will refuse them on every retry.
 */
export function sqlDataError(err: unknown): { code: string; message: string } | undefined {
  const code = sqlStateOf(err);
  if (code === undefined || !/^2[23][0-9A-Z]{3}$/.test(code)) return undefined;
  const message: unknown = Reflect.get(err as object, 'message');
  return { code, message: typeof message === 'string' ? message : String(message) };
}

/** 25006 read-only transaction (a hot standby, a read-only session), 42501 insufficient privilege (a role that may only read). */
const CANNOT_WRITE = new Set(['25006', '42501']);

/** The connection may read but not write: what a replica or a read-only role answers to a write. */
export function cannotWrite(err: unknown): boolean {
  const code = sqlStateOf(err);
  return code !== undefined && CANNOT_WRITE.has(code);
}

/** 55P03 lock not available: a lock_timeout ran out (another session held the lock), or a NOWAIT lock was refused. */
export function lockNotAvailable(err: unknown): boolean {
  return sqlStateOf(err) === '55P03';
}

/** 40P01 deadlock detected, 40001 serialization failure: PostgreSQL aborted this transaction for another's sake. */
const LOST_RACE = new Set(['40P01', '40001']);

/** The transaction lost a race with another session and rolled back; the same work may succeed when tried again. */
export function lostRace(err: unknown): boolean {
  const code = sqlStateOf(err);
  return code !== undefined && LOST_RACE.has(code);
}
