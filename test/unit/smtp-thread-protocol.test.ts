import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InternalError } from '../../src/errors.js';
import { PermanentSendError, TransientSendError } from '../../src/templates/mail-sender.js';
import { leastLoaded, shares } from '../../src/templates/pool-shares.js';
import { errorFromWire, errorToWire } from '../../src/templates/smtp-thread-protocol.js';

/** An error as nodemailer raises it: a code, and the server's reply when there was one. */
const nodemailerError = (message: string, code: string, responseCode?: number) => Object.assign(new Error(message), { code, ...(responseCode ? { responseCode } : {}) });

describe('errors between the SMTP threads and the engine', () => {
  it('come back as the same typed errors, with their reply code, refusal and cause', () => {
    const refused = new PermanentSendError('SMTP smtp://mx:25 refused the address ada@example.com: 550 unknown user', {
      cause: nodemailerError('550 unknown user', 'EENVELOPE', 550),
      responseCode: 550,
      recipientRefused: true,
    });
    const back = errorFromWire(structuredClone(errorToWire(refused)));
    expect(back).toBeInstanceOf(PermanentSendError);
    expect(back).toMatchObject({ code: 'SEND_PERMANENT', message: refused.message, responseCode: 550, recipientRefused: true });
    expect(back.cause).toMatchObject({ message: '550 unknown user', code: 'EENVELOPE', responseCode: 550 });

    const later = new TransientSendError('sending to ada@example.com failed for now (connect ECONNREFUSED)', { cause: nodemailerError('connect ECONNREFUSED', 'ESOCKET') });
    const again = errorFromWire(structuredClone(errorToWire(later)));
    expect(again).toBeInstanceOf(TransientSendError);
    expect(again).toMatchObject({ code: 'SEND_TRANSIENT', message: later.message, responseCode: undefined });
    expect(again.cause).toMatchObject({ code: 'ESOCKET' });
  });

  it('say any other error is a bug in the thread, not a mail server that is away', () => {
    const back = errorFromWire(errorToWire(new TypeError("Cannot read properties of undefined (reading 'to')")));
    expect(back).toBeInstanceOf(InternalError);
    expect(back.message).toBe("the SMTP thread failed: Cannot read properties of undefined (reading 'to')");
    expect(errorFromWire(errorToWire('a string thrown')).message).toBe('the SMTP thread failed: a string thrown');
  });
});

describe('shares of connections and of the rate between threads', () => {
  it('splits as evenly as whole numbers allow, largest first', () => {
    expect(shares(5, 2)).toEqual([3, 2]);
    expect(shares(20, 4)).toEqual([5, 5, 5, 5]);
    expect(shares(3, 3)).toEqual([1, 1, 1]);
  });

  it('always adds up to the total, each share within one of the others', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 16 }), (total, parts) => {
        const s = shares(total, parts);
        expect(s).toHaveLength(parts);
        expect(s.reduce((a, b) => a + b, 0)).toBe(total);
        expect(Math.max(...s) - Math.min(...s)).toBeLessThanOrEqual(1);
        expect([...s].sort((a, b) => b - a)).toEqual(s);
      }),
    );
  });
});

describe('which SMTP thread takes the next message', () => {
  it('the one with the fewest in flight for its weight (share of the rate or of the connections), the first on a tie', () => {
    expect(leastLoaded([{ inFlight: 3, weight: 3 }, { inFlight: 2, weight: 2 }])).toBe(0);
    expect(leastLoaded([{ inFlight: 3, weight: 3 }, { inFlight: 1, weight: 2 }])).toBe(1);
    expect(leastLoaded([{ inFlight: 2, weight: 3 }, { inFlight: 2, weight: 2 }])).toBe(0);
  });

  it('loads threads in proportion to their weights, however many messages come', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 500 }), (total, parts, messages) => {
        const conns = shares(Math.max(total, parts), parts);
        const inFlight = conns.map(() => 0);
        for (let m = 0; m < messages; m++) inFlight[leastLoaded(conns.map((c, i) => ({ inFlight: inFlight[i]!, weight: c })))]! += 1;
        const sum = conns.reduce((a, b) => a + b, 0);
        conns.forEach((c, i) => expect(Math.abs(inFlight[i]! - (messages * c) / sum)).toBeLessThanOrEqual(1));
      }),
    );
  });
});
