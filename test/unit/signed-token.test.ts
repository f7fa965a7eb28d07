import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeSubject, encodeSubject } from '../../src/security/message-links.js';
import { TokenSigner } from '../../src/security/signed-token.js';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);

describe('signed tokens', () => {
  it('give back what was signed, for the same purpose only', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 200 }), (payload) => {
        const s = new TokenSigner([A]);
        const token = s.sign('unsubscribe', payload);
        expect(s.verify('unsubscribe', token)).toBe(payload);
        expect(s.verify('click', token)).toBeUndefined();
      }),
    );
  });

  it('refuse a token with any one character changed', () => {
    const s = new TokenSigner([A]);
    const token = s.sign('unsubscribe', 't.6f1e0c8a-0000-4000-8000-000000000001');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
    fc.assert(
      fc.property(fc.nat({ max: token.length - 1 }), fc.constantFrom(...alphabet), (at, ch) => {
        fc.pre(token[at] !== ch);
        const altered = token.slice(0, at) + ch + token.slice(at + 1);
        expect(s.verify('unsubscribe', altered)).toBeUndefined();
      }),
    );
  });

  it('verify with every secret of a rotation and sign with the first', () => {
    const old = new TokenSigner([B]);
    const rotated = new TokenSigner([A, B]);
    const token = old.sign('open', 'x');
    expect(rotated.verify('open', token)).toBe('x');
    expect(new TokenSigner([B]).verify('open', rotated.sign('open', 'y'))).toBeUndefined();
    expect(new TokenSigner([A]).verify('open', rotated.sign('open', 'y'))).toBe('y');
  });

  it('refuse what is not a token at all', () => {
    const s = new TokenSigner([A]);
    for (const junk of ['', '.', 'abc', 'a.b.c', '%%.%%', 'x'.repeat(5000)]) expect(s.verify('view', junk)).toBeUndefined();
  });

  it('encode link subjects both ways, and nothing else decodes', () => {
    const touchId = '6f1e0c8a-0000-4000-8000-000000000001';
    expect(decodeSubject(encodeSubject({ touchId }))).toEqual({ touchId });
    expect(decodeSubject(encodeSubject({ contactId: touchId }))).toEqual({ contactId: touchId });
    // A touch's links name its contact too (they still reach the person once the touch is dropped); links of the touch alone still read.
    const contactId = '0b0e5f0e-7a41-4c39-9c55-3a2f8b1d9e77';
    expect(decodeSubject(encodeSubject({ touchId, contactId }))).toEqual({ touchId, contactId });
    expect(encodeSubject({ touchId, contactId })).toBe(`t.${touchId}.${contactId}`);
    expect(decodeSubject(`t.${touchId}.42`)).toBeUndefined();
    expect(decodeSubject(`c.${touchId}.${contactId}`)).toBeUndefined();
    expect(decodeSubject('t.42')).toBeUndefined();
    expect(decodeSubject(`x.${touchId}`)).toBeUndefined();
  });
});
