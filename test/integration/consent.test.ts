import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { applyEvent } from '../../src/engine/apply-event.js';
import { useEngineFixture } from '../support/engine-fixture.js';

/** Unsubscribe ends everything; only an opt-in made after it (fresh consent) subscribes again. */
const SEQ = `
id: welcome
trigger: { event: opt_in }
reentry: always
steps: [ { email: welcome }, { wait: 3 days }, { email: guide } ]
`;
const T0 = DateTime.fromISO('2026-11-23T15:00:00Z', { zone: 'utc' });

describe('consent: unsubscribe and opting in again', () => {
  const f = useEngineFixture('postgres', [SEQ]);

  const event = (id: string, type: string, occurredAt: DateTime, now: DateTime) =>
    applyEvent(f.deps, { id, type, occurredAt: occurredAt.toISO()!, contact: { email: 'c@example.com' }, data: {} }, now);
  const contact = () => f.store.db.selectFrom('contacts').selectAll().where('email', '=', 'c@example.com').executeTakeFirstOrThrow();
  const enrollments = () => f.store.db.selectFrom('enrollments').select(['status', 'exit_reason']).orderBy('enrolled_at').execute();

  it('keeps an unsubscribed contact out until a later opt-in, which enrolls it again', async () => {
    await event('e1', 'opt_in', T0, T0);
    await event('e2', 'unsubscribed', T0.plus({ hours: 2 }), T0.plus({ hours: 2 }));
    expect((await contact()).unsubscribed_at).not.toBeNull();
    expect(await enrollments()).toEqual([{ status: 'exited', exit_reason: 'unsubscribed' }]);

    // An opt-in from before the unsubscribe, delivered late, is not consent given after it.
    const late = await event('e0', 'opt_in', T0.plus({ hours: 1 }), T0.plus({ hours: 3 }));
    expect(late.enrolled).toEqual([]);
    expect((await contact()).unsubscribed_at).not.toBeNull();

    const fresh = await event('e3', 'opt_in', T0.plus({ days: 5 }), T0.plus({ days: 5 }));
    expect(fresh.enrolled).toHaveLength(1);
    expect((await contact()).unsubscribed_at).toBeNull();
    expect(await enrollments()).toEqual([
      { status: 'exited', exit_reason: 'unsubscribed' },
      { status: 'active', exit_reason: null },
    ]);
  });
});

describe('consent: the order the person acted in, not the order events arrived', () => {
  const f = useEngineFixture('postgres', [SEQ]);

  const event = (id: string, type: string, occurredAt: DateTime, now: DateTime) =>
    applyEvent(f.deps, { id, type, occurredAt: occurredAt.toISO()!, contact: { email: 'd@example.com' }, data: {} }, now);
  const contact = () => f.store.db.selectFrom('contacts').selectAll().where('email', '=', 'd@example.com').executeTakeFirstOrThrow();

  it('an opt-in made after the unsubscribe subscribes again, even when the unsubscribe was applied after the opt-in was made', async () => {
    await event('d1', 'opt_in', T0, T0);
    // Unsubscribed at 17:00, but the event only reached the engine at 01:00 the next day.
    await event('d2', 'unsubscribed', T0.plus({ hours: 2 }), T0.plus({ hours: 10 }));
    expect((await contact()).unsubscribed_at).toEqual(T0.plus({ hours: 2 }).toJSDate());
    // Opted in again at 20:00: after the unsubscribe, before the engine heard of it.
    const again = await event('d3', 'opt_in', T0.plus({ hours: 5 }), T0.plus({ hours: 11 }));
    expect((await contact()).unsubscribed_at).toBeNull();
    expect(again.enrolled).toHaveLength(1);
  });
});
