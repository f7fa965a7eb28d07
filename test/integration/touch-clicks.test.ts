import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markClicked, trackedTouch } from '../../src/db/touch-repository.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';

/** `touches.last_clicked_at`: each click reads the one before it and records itself, in one statement. */
describe.each(['postgres', 'pglite'] as const)('clicks on a touch (%s)', (kind) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await createTestStore(kind);
  });
  afterAll(async () => {
    await store?.cleanup();
  });

  it('returns the contact, the delivery time and the previous click; concurrent clicks each see another', async () => {
    const c = await store.db.insertInto('contacts').values({ email: `click-${kind}@example.com`, attributes: '{}', tags: '[]' }).returning('id').executeTakeFirstOrThrow();
    const sentAt = new Date('2026-12-02T10:00:00Z');
    const t = await store.db
      .insertInto('touches')
      .values({ key: `x/${kind}`, contact_id: c.id, step_id: 'welcome', kind: 'email', status: 'sent', due_at: sentAt, sent_at: sentAt })
      .returning('id')
      .executeTakeFirstOrThrow();

    expect(await trackedTouch(store.db, t.id)).toEqual({ contactId: c.id, email: `click-${kind}@example.com`, sentAt, previousClickAt: null });
    const first = new Date('2026-12-02T10:05:00Z');
    expect(await markClicked(store.db, t.id, first)).toEqual({ contactId: c.id, email: `click-${kind}@example.com`, sentAt, previousClickAt: null });
    const second = new Date('2026-12-02T10:05:00.300Z');
    expect((await markClicked(store.db, t.id, second))?.previousClickAt).toEqual(first);

    // Two at once: the row lock orders them, so one of them sees the other.
    const [a, b] = await Promise.all([markClicked(store.db, t.id, new Date('2026-12-02T10:06:00Z')), markClicked(store.db, t.id, new Date('2026-12-02T10:06:00.100Z'))]);
    const seen = [a?.previousClickAt?.toISOString(), b?.previousClickAt?.toISOString()];
    expect(seen).toContain(second.toISOString());
    expect(seen.some((s) => s === '2026-12-02T10:06:00.000Z' || s === '2026-12-02T10:06:00.100Z')).toBe(true);

    expect(await markClicked(store.db, '00000000-0000-4000-8000-000000000000', first)).toBeUndefined();
  });
});
