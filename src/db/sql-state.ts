/**
 * PostgreSQL's SQLSTATE classes 22 (data exception: a value out of range, a NUL byte, a bad
 * Unicode escape) and 23 (integrity constraint violation): the database refuses these values and
 * will refuse them on every retry. Both pg and PGlite put the SQLSTATE in `code`.
 */
export function sqlDataError(err: unknown): { code: string; message: string } | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code: unknown = Reflect.get(err, 'code');
  if (typeof code !== 'string' || !/^2[23][0-9A-Z]{3}$/.test(code)) return undefined;
  const message: unknown = Reflect.get(err, 'message');
  return { code, message: typeof message === 'string' ? message : String(message) };
}
