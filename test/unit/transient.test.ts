import { describe, expect, it } from 'vitest';
import { isTransientDbError, retryTransient } from '../../src/db/transient.js';
import { ConfigError, ServiceUnavailableError } from '../../src/errors.js';

const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('transient database errors', () => {
  it.each([
    ['admin shutdown', pgError('57P01')],
    ['crash shutdown', pgError('57P02')],
    ['starting up', pgError('57P03')],
    ['connection failure', pgError('08006')],
    ['connection does not exist', pgError('08003')],
    ['serialization failure', pgError('40001')],
    ['deadlock', pgError('40P01')],
    ['refused', pgError('ECONNREFUSED')],
    ['reset', pgError('ECONNRESET')],
    ['terminated (pg, no code)', new Error('Connection terminated unexpectedly')],
    ['dead client reused', new Error('Client has encountered a connection error and is not queryable')],
    ['pool timeout', new Error('timeout exceeded when trying to connect')],
    ['several addresses', new AggregateError([pgError('ECONNREFUSED'), pgError('ECONNREFUSED')])],
    ['wrapped', new Error('outer', { cause: pgError('57P01') })],
    ['service unavailable', new ServiceUnavailableError('PostgreSQL is not answering')],
  ])('%s is transient', (_, err) => {
    expect(isTransientDbError(err)).toBe(true);
  });

  it.each([
    ['unique violation', pgError('23505')],
    ['syntax error', pgError('42601')],
    ['a bug', new TypeError('x is undefined')],
    ['bad input', new ConfigError('bad')],
    ['not an error', 'boom'],
  ])('%s is not', (_, err) => {
    expect(isTransientDbError(err)).toBe(false);
  });

  it('runs the work again after transient failures, and stops at the first other one', async () => {
    let calls = 0;
    const seen: number[] = [];
    const ok = await retryTransient(
      async () => {
        calls++;
        if (calls < 3) throw pgError('57P01');
        return 'done';
      },
      { firstDelayMs: 1, onRetry: (_e, attempt) => seen.push(attempt) },
    );
    expect(ok).toBe('done');
    expect(seen).toEqual([1, 2]);

    let other = 0;
    await expect(
      retryTransient(async () => {
        other++;
        throw pgError('23505', 'duplicate key');
      }, { firstDelayMs: 1 }),
    ).rejects.toThrow('duplicate key');
    expect(other).toBe(1);

    let always = 0;
    await expect(
      retryTransient(async () => {
        always++;
        throw new Error('Connection terminated unexpectedly');
      }, { tries: 3, firstDelayMs: 1 }),
    ).rejects.toThrow('Connection terminated');
    expect(always).toBe(3);
  });
});
