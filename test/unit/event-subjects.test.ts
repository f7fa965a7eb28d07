import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { MAX_BATCH, parseEventBatch } from '../../src/sequences/event-batch.js';
import type { ParsedEvent } from '../../src/sequences/event.js';
import { eventBody, eventBodyHash, eventHashOf, parseEvent, toWire, touchRefOf } from '../../src/sequences/event.js';
import { needsResolution, resolvedEvent, subjectOf } from '../../src/sequences/event-subject.js';

/** The subject union (email, contact id, touch) and batches, as the queue and POST /v1/events parse them. */
const NOW = DateTime.fromISO('2026-06-01T12:00:00Z', { zone: 'utc' });
const parse = (raw: unknown) => parseEvent(raw, { now: NOW });
const CONTACT_ID = '6f1e0c8a-0000-4000-8000-000000000001';
const TOUCH_ID = '6f1e0c8a-0000-4000-8000-0000000000aa';
const base = () => ({ id: 'e-1', type: 'email_clicked', occurredAt: '2026-06-01T11:00:00Z', data: { url: 'https://x.example' } });
const ok = (r: ParsedEvent) => {
  if (!r.ok) throw new Error(r.reason);
  return r.event;
};
const rejected = (r: ParsedEvent) => {
  if (r.ok) throw new Error(`expected a rejection, got ${JSON.stringify(r.event)}`);
  return { field: r.field, reason: r.reason };
};

describe('event subjects', () => {
  it('takes a contact by email (as before), by id, or by touch id or Message-ID', () => {
    expect(subjectOf(ok(parse({ ...base(), contact: { email: 'Ann@Example.com' } })))).toEqual({ by: 'email', email: 'ann@example.com' });
    expect(subjectOf(ok(parse({ ...base(), contact: { id: CONTACT_ID, firstName: 'Ann' } })))).toEqual({ by: 'contact', contactId: CONTACT_ID });
    expect(subjectOf(ok(parse({ ...base(), touch: { id: TOUCH_ID } })))).toEqual({ by: 'touch', ref: TOUCH_ID });
    expect(subjectOf(ok(parse({ ...base(), touch: { id: '<abc@mail.example>' } })))).toEqual({ by: 'touch', ref: 'abc@mail.example' });
  });

  it('names the field when the subject is wrong', () => {
    expect(rejected(parse({ ...base(), contact: { id: 'nope' } }))).toEqual({ field: 'contact.id', reason: 'contact.id: "nope" is not a contact id (a UUID)' });
    expect(rejected(parse({ ...base(), contact: { id: CONTACT_ID, email: 'a@b.co' } })).field).toBe('contact.id');
    expect(rejected(parse({ ...base(), contact: { email: 'a@b.co' }, touch: { id: TOUCH_ID } }))).toEqual({ field: 'touch', reason: 'touch: name the contact by "contact" or by "touch", not both' });
    expect(rejected(parse({ ...base(), touch: { id: '' } })).field).toBe('touch.id');
    expect(rejected(parse({ ...base(), touch: { id: TOUCH_ID, extra: 1 } })).field).toBe('touch');
    expect(rejected(parse(base()))).toEqual({ field: 'contact', reason: 'contact is required: name the contact by contact.email, contact.id or touch.id' });
  });

  it('keeps the hash of an email event as it was (stored hashes stay valid), and tells subjects apart', () => {
    const byEmail = ok(parse({ ...base(), contact: { email: 'a@b.co' } }));
    expect(eventBodyHash(eventBody(byEmail))).toBe(eventBodyHash({ type: 'email_clicked', occurredAt: '2026-06-01T11:00:00.000Z', contact: { email: 'a@b.co' }, data: { url: 'https://x.example' } }));
    const byTouch = ok(parse({ ...base(), touch: { id: TOUCH_ID } }));
    const byOtherTouch = ok(parse({ ...base(), touch: { id: '6f1e0c8a-0000-4000-8000-0000000000bb' } }));
    expect(eventHashOf(byTouch)).not.toBe(eventHashOf(byOtherTouch));
  });

  it('resolves to an email event that keeps the hash received and ties a touch subject to its touch', () => {
    const byTouch = ok(parse({ ...base(), touch: { id: '<m@x>' } }));
    if (!('touch' in byTouch)) throw new Error('a touch event');
    const r = resolvedEvent(byTouch, { email: 'ann@example.com', contactId: CONTACT_ID, touchId: TOUCH_ID });
    expect(r.contact).toEqual({ email: 'ann@example.com' });
    expect(touchRefOf(r)).toBe(TOUCH_ID);
    expect(eventHashOf(r)).toBe(eventHashOf(byTouch));
    const byId = ok(parse({ ...base(), contact: { id: CONTACT_ID, lastName: 'Lee' } }));
    if (!needsResolution(byId) || 'touch' in byId) throw new Error('a contact-id event');
    expect(resolvedEvent(byId, { email: 'ann@example.com', contactId: CONTACT_ID }).contact).toEqual({ email: 'ann@example.com', lastName: 'Lee' });
  });

  it('goes on the queue as it came, whatever the subject', () => {
    for (const raw of [{ ...base(), contact: { email: 'a@b.co' } }, { ...base(), contact: { id: CONTACT_ID } }, { ...base(), touch: { id: TOUCH_ID } }]) {
      expect(ok(parse(toWire(ok(parse(raw)))))).toEqual(ok(parse(raw)));
    }
  });
});

describe('parseEventBatch', () => {
  const good = (i: number) => ({ id: `b-${i}`, type: 'opt_in', occurredAt: '2026-06-01T11:00:00Z', contact: { email: `p${i}@example.com` } });

  it('takes a batch whole or not at all, naming every bad item in order', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.nat(1000).map(good), fc.jsonValue()), { maxLength: 30 }), (items) => {
        const r = parseEventBatch(items, { now: NOW });
        const bad = items.map((item, index) => ({ item, index })).filter(({ item }) => typeof item === 'string' || !parse(item).ok);
        if (r.ok) {
          expect(bad).toEqual([]);
          expect(new Set(r.events.map((e) => e.id)).size).toBe(r.events.length);
        } else {
          // Repeated ids with another body are problems too, so at least every unparseable item is named.
          const named = r.problems.map((p) => p.index);
          for (const b of bad) expect(named).toContain(b.index);
          expect(named).toEqual([...named].sort((a, b) => a - b));
          for (const p of r.problems) expect(p.message.length).toBeGreaterThan(0);
        }
      }),
    );
  });

  it('takes the same event twice as one, and refuses one id with two bodies', () => {
    expect(parseEventBatch([good(1), good(1)], { now: NOW })).toMatchObject({ ok: true, events: [{ id: 'b-1' }] });
    const r = parseEventBatch([good(1), { ...good(1), type: 'page_visited' }], { now: NOW });
    expect(r).toMatchObject({ ok: false, problems: [{ index: 1, id: 'b-1', field: 'id' }] });
  });

  it('refuses strings of JSON in a body, which the queue would read', () => {
    expect(parseEventBatch([JSON.stringify(good(1))], { now: NOW })).toMatchObject({ ok: false, problems: [{ index: 0, field: '', message: expect.stringContaining('must be a JSON object, got a string') }] });
    expect(MAX_BATCH).toBe(1000);
  });
});
