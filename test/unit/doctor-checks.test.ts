import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SKEW_FAIL_MS, SKEW_WARN_MS, clockSkewCheck, configCheck, dkimKeyCheck, doctorReport, migrationsCheck, projectCheck, redisPersistenceCheck } from '../../src/app/doctor-checks.js';

const pem = (type: 'rsa' | 'ed25519' | 'ec', bits?: number): string => {
  const opts = type === 'rsa' ? { modulusLength: bits ?? 2048 } : type === 'ec' ? { namedCurve: 'P-256' } : {};
  const { privateKey } = generateKeyPairSync(type as 'rsa', opts as { modulusLength: number });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
};

describe('nurture doctor checks', () => {
  it('warns about a Redis without an append-only file and says how to turn it on', () => {
    const off = redisPersistenceCheck('no', 'redis://r:6379');
    expect(off.status).toBe('warn');
    expect(off.fix).toContain('CONFIG SET appendonly yes');
    expect(redisPersistenceCheck('yes', 'redis://r:6379').status).toBe('ok');
    expect(redisPersistenceCheck(undefined, 'redis://r:6379')).toMatchObject({ status: 'warn', detail: expect.stringContaining('CONFIG GET') });
  });

  it('says which migrations are pending, the first three by name, and how to apply them', () => {
    expect(migrationsCheck([])).toEqual({ name: 'migrations', status: 'ok', detail: 'every migration of this release is applied' });
    expect(migrationsCheck(['a', 'b'])).toMatchObject({ status: 'warn', detail: '2 migration(s) of this release not applied yet: a, b', fix: expect.stringContaining('nurture migrate') });
    expect(migrationsCheck(['a', 'b', 'c', 'd', 'e']).detail).toBe('5 migration(s) of this release not applied yet: a, b, c and 2 more');
  });

  it('judges clock skew in both directions', () => {
    expect(clockSkewCheck(SKEW_WARN_MS).status).toBe('ok');
    expect(clockSkewCheck(-(SKEW_WARN_MS + 1))).toMatchObject({ status: 'warn', detail: expect.stringContaining('ahead of') });
    expect(clockSkewCheck(SKEW_FAIL_MS + 1)).toMatchObject({ status: 'fail', detail: expect.stringContaining('behind'), fix: expect.stringContaining('NTP') });
  });

  it('accepts RSA and Ed25519 private keys, and refuses a public key, a small key or another kind', () => {
    expect(dkimKeyCheck('k.pem', { text: pem('rsa') })).toMatchObject({ status: 'ok', detail: 'k.pem: a private rsa key of 2048 bits' });
    expect(dkimKeyCheck('k.pem', { text: pem('ed25519') }).status).toBe('ok');
    expect(dkimKeyCheck('k.pem', { text: pem('ec') })).toMatchObject({ status: 'fail', detail: expect.stringContaining('ec key') });
    expect(dkimKeyCheck('k.pem', { text: pem('rsa', 512) })).toMatchObject({ status: 'fail', detail: expect.stringContaining('512-bit') });
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(dkimKeyCheck('k.pub', { text: publicKey.export({ type: 'spki', format: 'pem' }).toString() }).status).toBe('fail');
    expect(dkimKeyCheck('k.pem', { error: 'no such file' })).toMatchObject({ status: 'fail', detail: 'k.pem: no such file' });
  });

  it('reports configuration errors and warnings, and project problems with the command that lists them', () => {
    expect(configCheck({ error: 'invalid environment' }).status).toBe('fail');
    expect(configCheck({ warnings: ['NURTURE_FOO is not a setting'] }).status).toBe('warn');
    const dirs = { sequences: 's', templates: 't' };
    const problem = { file: 's/a.yaml', path: 'steps[0]', line: undefined, message: 'bad', severity: 'error' as const };
    expect(projectCheck(dirs, { problems: [problem], sequences: 1, templates: 0 })).toMatchObject({ status: 'fail', fix: expect.stringContaining('nurture validate s --templates t') });
    expect(projectCheck(dirs, { missing: 's folder' }).status).toBe('skip');
  });

  it('must-fix means a failed check; warnings alone leave the report ok', () => {
    expect(doctorReport([{ name: 'a', status: 'warn', detail: '' }, { name: 'b', status: 'skip', detail: '' }]).ok).toBe(true);
    expect(doctorReport([{ name: 'a', status: 'ok', detail: '' }, { name: 'b', status: 'fail', detail: '' }]).ok).toBe(false);
  });
});
