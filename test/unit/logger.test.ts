import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { logFormatFor } from '../../src/logger.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Logs two lines in a child process (the real stderr), with the given format and terminal-ness. */
function logInChild(format: string, isTerminal: boolean): { stdout: string; stderr: string; status: number | null } {
  const script = `
    import { createLogger } from './src/logger.ts';
    const log = createLogger('info', { format: ${JSON.stringify(format)} === 'auto' ? undefined : ${JSON.stringify(format)}, isTerminal: ${isTerminal} });
    log.info({ touchId: 't-1' }, 'email sent');
    log.warn('SMTP is down');
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

describe('log format', () => {
  it('is pretty on a terminal and JSON otherwise, unless forced', () => {
    expect(logFormatFor(undefined, true)).toBe('pretty');
    expect(logFormatFor(undefined, false)).toBe('json');
    expect(logFormatFor('json', true)).toBe('json');
    expect(logFormatFor('pretty', false)).toBe('pretty');
  });

  it('writes JSON lines to stderr when not on a terminal, nothing to stdout', () => {
    const r = logInChild('auto', false);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toMatchObject([
      { level: 30, msg: 'email sent', touchId: 't-1', name: 'nurture' },
      { level: 40, msg: 'SMTP is down' },
    ]);
  });

  it('writes human-readable lines through pino-pretty when forced (or on a terminal), nothing to stdout', () => {
    for (const [format, terminal] of [['pretty', false], ['auto', true]] as const) {
      const r = logInChild(format, terminal);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe('');
      // eslint-disable-next-line no-control-regex
      const text = r.stderr.replace(/\x1b\[[0-9;]*m/g, '');
      expect(text).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO \(nurture\): email sent\n\s+touchId: "t-1"\n/);
      expect(text).toMatch(/WARN \(nurture\): SMTP is down/);
      expect(() => JSON.parse(text.split('\n')[0] ?? '')).toThrow();
    }
  });
});
