import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { showContact } from '../../src/cli/contacts.js';
import { applyEvent } from '../../src/engine/apply-event.js';
import { wakeEnrollment } from '../../src/engine/wake-enrollment.js';
import { useEngineFixture } from '../support/engine-fixture.js';

/**
 * A frequency cap holds across sequences: two sequences that both greet an opt-in at once send
 * one email now and the other a day later, and the delay shows where staff look.
 */
const A = `
id: seq-a
trigger: { event: opt_in }
steps: [ { email: welcome } ]
`;
const B = `
id: seq-b
trigger: { event: opt_in }
steps: [ { email: guide }, { wait: 1 hour }, { email: nudge } ]
`;
const T0 = DateTime.fromISO('2026-11-23T15:00:00Z', { zone: 'utc' });

describe('frequency cap across sequences', () => {
  const f = useEngineFixture('postgres', [A, B], (deps) => ({ ...deps, config: { ...deps.config, caps: { perDay: 1 } } }));

  it('delays, never drops, and says so', async () => {
    const r = await applyEvent(f.deps, { id: 'cap-1', type: 'opt_in', occurredAt: T0.toISO()!, contact: { email: 'cap@example.com' }, data: {} }, T0);
    expect(r.enrolled).toHaveLength(2);
    const emails = () => f.store.db.selectFrom('touches').select(['step_id', 'due_at']).where('kind', '=', 'email').orderBy('due_at').execute();
    expect((await emails()).map((t) => t.step_id)).toEqual(['welcome']);

    const b = await f.store.db.selectFrom('enrollments').selectAll().where('sequence_id', '=', 'seq-b').executeTakeFirstOrThrow();
    expect(b.state).toMatchObject({ pending: { kind: 'deferred', reason: 'frequency_cap' } });
    expect(b.next_wake_at!.toISOString()).toBe(T0.plus({ hours: 24 }).toJSDate().toISOString());

    const shown = await showContact(f.store.db, 'cap@example.com', { now: T0, zone: 'UTC' });
    expect(shown.text).toContain('by frequency cap');

    // A day later the guide goes; the nudge an hour after it would break the cap, so it waits a day more.
    const at = T0.plus({ hours: 24 });
    expect((await wakeEnrollment(f.deps, b.id, b.wake_version, at)).status).toBe('advanced');
    const b2 = await f.store.db.selectFrom('enrollments').selectAll().where('id', '=', b.id).executeTakeFirstOrThrow();
    expect((await wakeEnrollment(f.deps, b.id, b2.wake_version, b2.next_wake_at ? DateTime.fromJSDate(b2.next_wake_at) : at)).status).toBe('advanced');
    const b3 = await f.store.db.selectFrom('enrollments').selectAll().where('id', '=', b.id).executeTakeFirstOrThrow();
    expect(b3.state).toMatchObject({ pending: { kind: 'deferred', reason: 'frequency_cap' } });
    expect(b3.next_wake_at!.getTime()).toBe(at.plus({ hours: 24 }).toMillis());

    const sent = (await emails()).map((t) => [t.step_id, t.due_at.toISOString()]);
    expect(sent).toEqual([
      ['welcome', T0.toJSDate().toISOString()],
      ['guide', at.toJSDate().toISOString()],
    ]);
  });
});
