import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { storablePayload, storableText } from '../../src/db/event-repository.js';
import type { ParsedEvent } from '../../src/sequences/event.js';
import { eventBody, eventBodyHash, eventDifferences, parseEvent } from '../../src/sequences/event.js';

/** The event boundary: parseEvent is total, pure given `now`, and names the field and the value. */
const NOW = DateTime.fromISO('2026-06-01T12:00:00Z', { zone: 'utc' });
const parse = (raw: unknown, o: Partial<Parameters<typeof parseEvent>[1]> = {}) => parseEvent(raw, { now: NOW, ...o });
const base = () => ({ id: 'e-1', type: 'opt_in', occurredAt: '2026-06-01T11:00:00Z', contact: { email: 'Ann@Example.com' }, data: { source: 'web' } });
const rejected = (r: ParsedEvent) => {
  if (r.ok) throw new Error(`expected a rejection, got ${JSON.stringify(r.event)}`);
  return { field: r.field, reason: r.reason };
};

/** No NUL and no UTF-16 half without its other half: PostgreSQL text stores it as is. */
const storable = (s: string) => !/\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);

describe('parseEvent', () => {
  it('accepts an event, lower-casing the email', () => {
    const r = parse(base());
    expect(r).toEqual({ ok: true, event: { ...base(), contact: { email: 'ann@example.com' } } });
  });

  it('defaults a missing (or null) occurredAt to the time it was received, and flags it', () => {
    const { occurredAt: _, ...noTime } = base();
    const receivedAt = NOW.minus({ seconds: 30 });
    for (const raw of [noTime, { ...noTime, occurredAt: null }]) {
      const r = parse(raw, { receivedAt });
      expect(r).toEqual({ ok: true, event: { ...noTime, contact: { email: 'ann@example.com' }, occurredAt: '2026-06-01T11:59:30.000Z', occurredAtDefaulted: true } });
    }
    expect(parse(noTime)).toMatchObject({ ok: true, event: { occurredAt: '2026-06-01T12:00:00.000Z' } });
  });

  it('names the value given in its reason', () => {
    expect(rejected(parse({ ...base(), type: 'Opt In' }))).toEqual({ field: 'type', reason: 'type: "Opt In" is not an event type (lower-case letters, digits, "_", ".", ":", "-")' });
    expect(rejected(parse({ ...base(), contact: { email: 'ann at example' } }))).toEqual({ field: 'contact.email', reason: 'contact.email: "ann at example" is not an email address' });
    expect(rejected(parse({ ...base(), occurredAt: 'yesterday' })).reason).toBe('occurredAt: "yesterday" is not an ISO 8601 instant with Z or an offset (e.g. "2026-11-22T10:00:00Z")');
    expect(rejected(parse({ ...base(), contact: {} }))).toEqual({ field: 'contact.email', reason: 'contact.email is required' });
  });

  it('says what a payload that is not an event object is', () => {
    expect(rejected(parse('{"id": oops'))).toEqual({ field: '', reason: 'payload is not valid JSON: "{\\"id\\": oops"' });
    expect(rejected(parse('"just a string"')).reason).toBe('event: must be a JSON object, got a string ("just a string")');
    expect(rejected(parse([base()])).reason).toBe('event: must be a JSON object, got an array');
    expect(rejected(parse(42)).reason).toBe('event: must be a JSON object, got a number ("42")');
    expect(rejected(parse(null)).reason).toBe('event: must be a JSON object, got null');
  });

  it('refuses instants PostgreSQL cannot store', () => {
    expect(rejected(parse({ ...base(), occurredAt: '0000-01-01T00:00:00Z' }))).toEqual({
      field: 'occurredAt',
      reason: 'occurredAt: "0000-01-01T00:00:00Z" has the year 0000, which does not exist (PostgreSQL cannot store it)',
    });
    expect(rejected(parse({ ...base(), occurredAt: '0001-01-01T00:30:00+01:00' })).reason).toBe('occurredAt: "0001-01-01T00:30:00+01:00" is before the year 1');
    expect(parse({ ...base(), occurredAt: '0001-01-01T00:00:00Z' }).ok).toBe(true);
  });

  it('refuses calendar dates that do not exist, and takes leap days that do', () => {
    for (const bad of ['2026-02-29T10:00:00Z', '2026-02-30T10:00:00Z', '2026-04-31T10:00:00+02:00', '1900-02-29T00:00:00Z']) {
      // zod's pattern or the calendar check: either way refused, naming the field and the value.
      const r = rejected(parse({ ...base(), occurredAt: bad }));
      expect(r.field).toBe('occurredAt');
      expect(r.reason.startsWith(`occurredAt: "${bad}" is not a`)).toBe(true);
    }
    for (const good of ['2024-02-29T10:00:00Z', '2000-02-29T00:00:00Z', '2025-12-31T23:59:59.999-05:00']) expect(parse({ ...base(), occurredAt: good }).ok).toBe(true);
  });

  it('refuses an occurredAt further ahead of now than the allowed skew (5 minutes unless told)', () => {
    const at = (d: DateTime) => ({ ...base(), occurredAt: d.toISO() });
    expect(parse(at(NOW.plus({ minutes: 5 }))).ok).toBe(true);
    expect(rejected(parse(at(NOW.plus({ minutes: 5, seconds: 1 }))))).toEqual({
      field: 'occurredAt',
      reason: 'occurredAt: "2026-06-01T12:05:01.000Z" is 5 minutes ahead of the time it was received (2026-06-01T12:00:00.000Z); at most 5 minutes is allowed (NURTURE_MAX_FUTURE_SKEW)',
    });
    const hour = { kind: 'calendar' as const, parts: { hours: 1 }, text: '1 hour' };
    expect(parse(at(NOW.plus({ minutes: 59 })), { maxFutureSkew: hour }).ok).toBe(true);
    expect(rejected(parse({ ...base(), occurredAt: '2099-01-01T00:00:00Z' })).reason).toContain('is 72.6 years ahead');
  });

  it('refuses __proto__ keys, which would vanish, naming the path', () => {
    expect(rejected(parse(JSON.parse('{"id":"p","type":"opt_in","contact":{"email":"a@b.co"},"data":{"__proto__":{"x":1}}}')))).toEqual({
      field: 'data.__proto__',
      reason: 'data.__proto__: key not allowed',
    });
    expect(rejected(parse(JSON.parse('{"id":"p","type":"opt_in","contact":{"email":"a@b.co","attributes":{"list":[{"__proto__":1}]}}}'))).field).toBe(
      'contact.attributes.list[0].__proto__',
    );
  });

  it('allows data and attributes 8 levels deep, not 9', () => {
    const nest = (levels: number): unknown => (levels === 0 ? 'leaf' : { k: nest(levels - 1) });
    expect(parse({ ...base(), data: nest(8) }).ok).toBe(true);
    expect(rejected(parse({ ...base(), data: nest(9) }))).toEqual({ field: 'data.k.k.k.k.k.k.k.k.k', reason: 'data.k.k.k.k.k.k.k.k.k: nested deeper than 8 levels' });
    expect(rejected(parse({ ...base(), contact: { email: 'a@b.co', attributes: nest(9) } })).field).toBe('contact.attributes.k.k.k.k.k.k.k.k.k');
  });

  it('handles a payload 20,000 arrays deep without recursion', () => {
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const text = `{"id":"d","type":"opt_in","contact":{"email":"a@b.co"},"data":{"a":${deep}}}`;
    expect(rejected(parse(text)).field).toBe('data.a[0][0][0][0][0][0][0][0]');
    expect(rejected(parse(JSON.parse(text))).reason).toBe('data.a[0][0][0][0][0][0][0][0]: nested deeper than 8 levels');
    expect(rejected(parse(JSON.parse(`{"id":"d","extra":${deep}}`))).reason).toBe('extra[0][0][0][0][0][0][0][0][0][0][0][0]: nested deeper than 12 levels');
  });

  /** Every place in an event a string goes, as a function from that string to the event. */
  const places: [string, (s: string) => unknown][] = [
    ['id', (s) => ({ ...base(), id: s })],
    ['type', (s) => ({ ...base(), type: s })],
    ['contact.firstName', (s) => ({ ...base(), contact: { email: 'a@b.co', firstName: s } })],
    ['contact.address.line1', (s) => ({ ...base(), contact: { email: 'a@b.co', address: { line1: s, city: 'X', postalCode: '1', country: 'US' } } })],
    ['contact.attributes.plan', (s) => ({ ...base(), contact: { email: 'a@b.co', attributes: { plan: s } } })],
    ['data.note', (s) => ({ ...base(), data: { note: s } })],
    ['data.list[1].deep', (s) => ({ ...base(), data: { list: [1, { deep: s }] } })],
  ];

  it('refuses any string with a NUL or a lone surrogate anywhere, naming the field, never throwing', () => {
    const bad = fc.oneof(fc.constant('\u0000'), fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)));
    // Graphemes: well-formed text, so the character put in between is always alone.
    const text = fc.string({ unit: 'grapheme', maxLength: 20 });
    fc.assert(
      fc.property(fc.constantFrom(...places), text, bad, text, ([field, put], before, c, after) => {
        const r = parse(put(`${before}${c}${after}`));
        expect(r.ok).toBe(false);
        if (r.ok) return;
        expect(r.field).toBe(field);
        expect(r.reason.startsWith(`${field}: `)).toBe(true);
        expect(r.reason).toMatch(/contains (a NUL character|a lone surrogate)/);
        expect(storable(r.reason)).toBe(true);
      }),
    );
    // In a key as well.
    fc.assert(
      fc.property(text, bad, (before, c) => {
        const r = parse({ ...base(), data: { [`${before}${c}`]: 1 } });
        expect(r.ok).toBe(false);
        if (!r.ok) expect(storable(r.field) && storable(r.reason)).toBe(true);
      }),
    );
  });

  it('is total: whatever the payload, a result with a storable reason, never an exception', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.jsonValue(), fc.string(), fc.record({ id: fc.string(), type: fc.string(), contact: fc.anything(), data: fc.anything() })), (raw) => {
        const r = parse(raw);
        if (!r.ok) expect(storable(r.reason) && storable(r.field)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('the stored body of an event', () => {
  const parsed = (raw: unknown) => {
    const r = parse(raw);
    if (!r.ok) throw new Error(r.reason);
    return r.event;
  };

  it('hashes the same body the same, whatever the key order or the offset the instant is written in', () => {
    const a = parsed({ id: 'x', type: 'opt_in', occurredAt: '2026-06-01T11:00:00Z', contact: { email: 'a@b.co', firstName: 'A' }, data: { p: 1, q: [1, { r: 2, s: 3 }] } });
    const b = parsed({ data: { q: [1, { s: 3, r: 2 }], p: 1 }, contact: { firstName: 'A', email: 'A@B.CO' }, occurredAt: '2026-06-01T13:00:00+02:00', type: 'opt_in', id: 'x' });
    expect(eventBodyHash(eventBody(a))).toBe(eventBodyHash(eventBody(b)));
    expect(eventBodyHash(eventBody(a))).not.toBe(eventBodyHash(eventBody({ ...a, data: { p: 2, q: [1, { r: 2, s: 3 }] } })));
  });

  it('names each difference, stored value first', () => {
    const a = parsed({ ...base(), contact: { email: 'a@x.com', firstName: 'Ann' }, data: { source: 'web', list: [1, 2] } });
    const b = parsed({ ...base(), contact: { email: 'b@x.com' }, data: { source: 'web', list: [1, 3], extra: true } });
    expect(eventDifferences(eventBody(a), eventBody(b))).toEqual({
      fields: ['contact.email', 'contact.firstName', 'data.extra', 'data.list[1]'],
      text: [
        'contact.email: "a@x.com" was stored, "b@x.com" redelivered',
        'contact.firstName: "Ann" was stored, nothing redelivered',
        'data.extra: nothing was stored, true redelivered',
        'data.list[1]: 2 was stored, 3 redelivered',
      ],
    });
  });
});

describe('what a rejection stores', () => {
  it('is text PostgreSQL takes as is, at most 4 KiB, whatever the payload', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything({ maxDepth: 30 }), fc.string({ unit: 'binary' })), (payload) => {
        const text = storablePayload(payload);
        expect(storable(text)).toBe(true);
        expect(text.length).toBeLessThanOrEqual(4096);
      }),
      { numRuns: 500 },
    );
  });

  it('escapes NUL and lone surrogates rather than dropping them, and renders a deep payload bounded', () => {
    expect(storableText('a\u0000b\ud800c\udfffd\ud83d\ude00', 100)).toBe('a\\u0000b\\ud800c\\udfffd\ud83d\ude00');
    expect(storableText(`${'x'.repeat(9)}\ud83d\ude00`, 10)).toBe('x'.repeat(9));
    let deep: unknown[] = [];
    const root = deep;
    for (let i = 0; i < 20_000; i++) {
      const next: unknown[] = [];
      deep.push(next);
      deep = next;
    }
    expect(storablePayload({ id: 'd', data: root })).toBe(`{"id":"d","data":${'['.repeat(15)}"[…]"${']'.repeat(15)}}`);
    expect(storablePayload(JSON.parse('{"__proto__":{"a":1}}'))).toBe('{"__proto__":{"a":1}}');
  });
});

describe('stage_set events', () => {
  const stageSet = (data: Record<string, unknown>) => ({ id: 's-1', type: 'stage_set', occurredAt: '2026-05-01T10:00:00Z', contact: { email: 'ann@example.com' }, data });

  it('name a stage, or are refused naming data.to and the value given', () => {
    expect(parse(stageSet({ to: 'customer', reason: 'signed' })).ok).toBe(true);
    expect(parse(stageSet({ to: 'vip' }))).toMatchObject({ ok: false, field: 'data.to', reason: expect.stringContaining('data.to: "vip" is not a stage (subscriber, engaged') });
    expect(parse(stageSet({}))).toMatchObject({ ok: false, field: 'data.to' });
  });
});
