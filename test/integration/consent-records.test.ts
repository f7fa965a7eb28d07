import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { recordConsent } from '../../src/db/consent-repository.js';
import { applyEvents } from '../../src/engine/apply-event.js';
import { consentHistory } from '../../src/queries/consent-history.js';
import type { NurtureEvent } from '../../src/sequences/event.js';
import { useEngineFixture } from '../support/engine-fixture.js';

/** Every opt-in the engine applies is in the consent history, once, whichever path it took. */
const SEQ = `
id: welcome
trigger: { event: opt_in }
steps: [ { email: welcome } ]
`;
const T0 = DateTime.fromISO('2026-12-02T09:00:00Z', { zone: 'utc' });

const optIn = (id: string, email: string, data: Record<string, unknown> = {}): NurtureEvent => ({
  id,
  type: 'opt_in',
  occurredAt: T0.minus({ minutes: 5 }).toISO()!,
  contact: { email },
  data,
});

for (const kind of ['postgres', 'pglite'] as const) {
  describe(`consent records of applied opt-ins (${kind})`, () => {
    const f = useEngineFixture(kind, [SEQ]);

    it('records each opt-in of a batch once, dated when the person acted, with its source', async () => {
      // The bulk path (one contact each) and the one-by-one path (two events of one contact).
      await applyEvents(
        f.deps,
        [optIn('q1', 'a@example.com', { source: 'website' }), optIn('import-leads-b@example.com', 'b@example.com'), optIn('q2', 'c@example.com'), { ...optIn('q3', 'c@example.com'), type: 'page_visited' }],
        T0,
      );
      const a = await consentHistory(f.store.db, 'a@example.com');
      expect(a.records).toEqual([
        expect.objectContaining({ kind: 'opt_in', source: 'queue', eventId: 'q1', at: T0.minus({ minutes: 5 }).toJSDate().toISOString(), detail: { dataSource: 'website' }, formId: null, ip: null }),
      ]);
      expect((await consentHistory(f.store.db, 'b@example.com')).records.map((r) => r.source)).toEqual(['import']);
      expect((await consentHistory(f.store.db, 'c@example.com')).records.map((r) => [r.kind, r.eventId])).toEqual([['opt_in', 'q2']]);

      // A redelivery is a duplicate: no second record.
      await applyEvents(f.deps, [optIn('q1', 'a@example.com', { source: 'website' })], T0.plus({ minutes: 1 }));
      expect((await consentHistory(f.store.db, 'a@example.com')).records).toHaveLength(1);
    });

    it('keeps the record written at the edge for the same event (the form, the IP, the wording)', async () => {
      await recordConsent(f.store.db, { email: 'd@example.com', contactId: null, kind: 'opt_in', at: T0.toJSDate(), source: 'form', formId: 'news', formVersion: '1', ip: '192.0.2.1', wording: 'Yes', eventId: 'form-news-1' });
      await applyEvents(f.deps, [optIn('form-news-1', 'd@example.com')], T0);
      const d = await consentHistory(f.store.db, 'd@example.com');
      expect(d.records).toEqual([expect.objectContaining({ kind: 'opt_in', source: 'form', formId: 'news', ip: '192.0.2.1', wording: 'Yes' })]);
      expect(d.contactId).not.toBeNull();
    });
  });
}
