import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonSafe, terminalSafe } from '../../src/cli/terminal-text.js';

describe('terminal output', () => {
  it('shows an ANSI screen-clearing name as visible escapes', () => {
    const name = 'Ann\u001b[2J\u001b[H\u001b]0;pwned\u0007';
    const out = terminalSafe(`Ann is ${name}`);
    expect(out).not.toMatch(/\u001b|\u0007/);
    expect(out).toBe('Ann is Ann\\u001b[2J\\u001b[H\\u001b]0;pwned\\u0007');
  });

  it('keeps newlines, tabs and ordinary text (accents, emoji) as they are', () => {
    expect(terminalSafe('Zoë\t🎉\nline two')).toBe('Zoë\t🎉\nline two');
  });

  it('escapes C1 controls and bidi overrides that reorder what a line appears to say', () => {
    expect(terminalSafe('a\u009b2Jb')).toBe('a\\u009b2Jb');
    expect(terminalSafe('invoice\u202egpj.exe')).toBe('invoice\\u202egpj.exe');
  });

  it('never leaves a control character in its output, for any input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        // eslint-disable-next-line no-control-regex
        expect(terminalSafe(s)).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
      }),
    );
  });

  it('keeps JSON output the same JSON value while escaping what JSON.stringify leaves raw', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const text = jsonSafe(JSON.stringify({ name: s }));
        expect(text).not.toMatch(/[\u007f-\u009f\u202a-\u202e]/);
        expect(JSON.parse(text)).toEqual({ name: s });
      }),
    );
  });
});
