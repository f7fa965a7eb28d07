import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError, UnknownOutcomeError } from '../../src/errors.js';
import {
  CALL_OUTCOMES,
  DEFAULT_OUTCOMES,
  MAIL_OUTCOMES,
  NOTICE_OUTCOMES,
  normaliseOutcome,
  outcomeEffects,
  outcomesFor,
  validateOutcome,
} from '../../src/staff/outcomes.js';

const caught = (f: () => unknown): UnknownOutcomeError => {
  try {
    f();
  } catch (err) {
    if (err instanceof UnknownOutcomeError) return err;
    throw err;
  }
  throw new Error('expected an UnknownOutcomeError');
};

describe('declared outcomes', () => {
  it('has a list per built-in task kind', () => {
    expect(outcomesFor('call')).toEqual(['connected', 'no_answer', 'left_voicemail', 'appointment_booked', 'not_interested', 'wrong_number']);
    expect(outcomesFor('postcard')).toEqual(['sent', 'returned']);
    expect(outcomesFor('letter')).toEqual(['sent', 'returned']);
    expect(outcomesFor('notice')).toEqual(['done']);
    expect(outcomesFor('visit')).toEqual([]);
  });

  it("a team's list replaces the default of its kind, and declares custom kinds; the other kinds keep theirs", () => {
    const team = { call: ['connected', 'callback_requested'], visit: ['visited', 'nobody_home'] };
    expect(outcomesFor('call', team)).toEqual(['connected', 'callback_requested']);
    expect(outcomesFor('visit', team)).toEqual(['visited', 'nobody_home']);
    expect(outcomesFor('postcard', team)).toEqual(['sent', 'returned']);
    // Not a prototype key taken for a kind.
    expect(outcomesFor('constructor', team)).toEqual([]);
  });
});

describe('validateOutcome', () => {
  it('accepts a declared outcome in any case and spacing, as declared', () => {
    expect(validateOutcome('call', 'no_answer')).toBe('no_answer');
    expect(validateOutcome('call', '  No Answer ')).toBe('no_answer');
    expect(validateOutcome('call', 'left-voicemail')).toBe('left_voicemail');
    expect(validateOutcome('postcard', 'RETURNED')).toBe('returned');
    expect(validateOutcome('visit', 'nobody home', { visit: ['nobody_home'] })).toBe('nobody_home');
  });

  it('refuses an undeclared one with the allowed list and the likely typo', () => {
    const e = caught(() => validateOutcome('call', 'no_anwser'));
    expect(e).toBeInstanceOf(InputError);
    expect(e.code).toBe('INPUT_INVALID');
    expect(e).toMatchObject({ kind: 'call', given: 'no_anwser', allowed: CALL_OUTCOMES, suggestions: ['no_answer'] });
    expect(e.message).toBe(
      '"no_anwser" is not an outcome of a call task: did you mean "no_answer"? (one of: connected, no_answer, left_voicemail, appointment_booked, not_interested, wrong_number)',
    );
  });

  it('refuses an outcome of another kind, without a far-fetched suggestion', () => {
    const e = caught(() => validateOutcome('postcard', 'appointment_booked'));
    expect(e.message).toBe('"appointment_booked" is not an outcome of a postcard task (one of: sent, returned)');
    expect(e.suggestions).toEqual([]);
    expect(caught(() => validateOutcome('postcard', 'mailed')).allowed).toEqual(MAIL_OUTCOMES);
  });

  it('refuses an empty outcome, and a kind without outcomes says where to declare them', () => {
    expect(caught(() => validateOutcome('notice', '  ')).message).toBe('the outcome is empty: say what happened to the notice (one of: done)');
    expect(caught(() => validateOutcome('visit', 'visited')).message).toBe('a visit task has no declared outcomes: declare them under "outcomes: { visit: [...] }" in team.yaml');
    // A team list that drops an outcome drops it.
    expect(() => validateOutcome('call', 'wrong_number', { call: ['connected'] })).toThrow(UnknownOutcomeError);
  });

  const kinds = fc.constantFrom(...Object.keys(DEFAULT_OUTCOMES), 'visit');
  const name = fc.stringMatching(/^[a-z][a-z0-9_]{0,15}$/);
  const team = fc.dictionary(kinds, fc.uniqueArray(name, { minLength: 1, maxLength: 6 }), { maxKeys: 3 });

  it('property: every declared outcome is accepted (whatever the case and outer space) and comes back as declared', () => {
    fc.assert(
      fc.property(kinds, team, fc.nat(), fc.boolean(), (kind, declared, pick, shout) => {
        const allowed = outcomesFor(kind, declared);
        fc.pre(allowed.length > 0);
        const o = allowed[pick % allowed.length]!;
        expect(validateOutcome(kind, ` ${shout ? o.toUpperCase() : o}\t`, declared)).toBe(o);
      }),
    );
  });

  it('property: anything not declared is refused, and the error lists exactly the declared outcomes', () => {
    fc.assert(
      fc.property(kinds, team, fc.string({ maxLength: 20 }), (kind, declared, given) => {
        const allowed = outcomesFor(kind, declared);
        fc.pre(!allowed.some((o) => normaliseOutcome(o) === normaliseOutcome(given)) || normaliseOutcome(given) === '');
        const e = caught(() => validateOutcome(kind, given, declared));
        expect(e.allowed).toEqual(allowed);
        for (const s of e.suggestions) expect(allowed).toContain(s);
        for (const o of allowed) expect(e.message).toContain(o);
      }),
    );
  });
});

describe('outcomeEffects', () => {
  it('says what each default outcome does', () => {
    const none = { promote: false, markAddressBad: false, markPhoneBad: false, endNurture: false };
    expect(outcomeEffects('call', 'connected')).toEqual({ ...none, attempt: true, connected: true });
    expect(outcomeEffects('call', 'no_answer')).toEqual({ ...none, attempt: true, connected: false });
    expect(outcomeEffects('call', 'left_voicemail')).toEqual({ ...none, attempt: true, connected: false });
    expect(outcomeEffects('call', 'appointment_booked')).toEqual({ ...none, promote: true, attempt: true, connected: true });
    expect(outcomeEffects('call', 'not_interested')).toEqual({ ...none, endNurture: true, attempt: true, connected: true });
    expect(outcomeEffects('call', 'wrong_number')).toEqual({ ...none, markPhoneBad: true, attempt: true, connected: false });
    expect(outcomeEffects('postcard', 'sent')).toEqual({ ...none, attempt: false, connected: false });
    expect(outcomeEffects('letter', 'returned')).toEqual({ ...none, markAddressBad: true, attempt: false, connected: false });
    expect(outcomeEffects('notice', NOTICE_OUTCOMES[0])).toEqual({ ...none, attempt: false, connected: false });
  });

  it('promotes on the configured call outcomes only, and only for calls', () => {
    expect(outcomeEffects('call', 'demo_booked', { promoteOn: ['demo_booked'] })).toMatchObject({ promote: true, connected: true });
    expect(outcomeEffects('call', 'appointment_booked', { promoteOn: ['demo_booked'] }).promote).toBe(false);
    expect(outcomeEffects('visit', 'appointment_booked').promote).toBe(false);
    // A custom kind that declares returned gets the same care.
    expect(outcomeEffects('visit', 'returned').markAddressBad).toBe(true);
  });

  it('property: a connection is an attempt, an attempt is a call, and each contact effect has its one outcome', () => {
    fc.assert(
      fc.property(fc.constantFrom('call', 'postcard', 'letter', 'notice', 'visit'), fc.constantFrom(...CALL_OUTCOMES, ...MAIL_OUTCOMES, 'done', 'other'), (kind, o) => {
        const e = outcomeEffects(kind, o);
        if (e.connected) expect(e.attempt).toBe(true);
        expect(e.attempt).toBe(kind === 'call');
        if (e.promote) expect(kind).toBe('call');
        expect(e.markAddressBad).toBe(o === 'returned');
        expect(e.markPhoneBad).toBe(o === 'wrong_number');
        expect(e.endNurture).toBe(o === 'not_interested');
      }),
    );
  });
});
