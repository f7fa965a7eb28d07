import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { applyEvents } from '../../src/engine/apply-event.js';
import { wakeEnrollment } from '../../src/engine/wake-enrollment.js';
import { wakeEnrollments } from '../../src/engine/wake-enrollments.js';
import { useEngineFixture } from '../support/engine-fixture.js';

/**
 * Many wake-ups in one transaction: each advances exactly as it would alone (the bulk path for a
 * contact's only enrollment whose step writes touches, one by one for a contact with several or
 * a step that tags), a job for an older version or one woken early does nothing, and running the
 * same batch again writes no touch twice.
 */
const GREET = `
id: greet
trigger: { event: opt_in }
steps:
  - email: welcome
  - wait: 1 hour
  - email: guide
  - wait: 1 day
  - email: nudge
`;
const TAGGER = `
id: tagger
trigger: { event: opt_in, where: { source: website } }
steps:
  - wait: 1 hour
  - tag: [engaged]
  - email: monthly
`;
const T0 = DateTime.fromISO('2026-11-23T15:00:00Z', { zone: 'utc' });

describe.each(['postgres', 'pglite'] as const)('wake-ups in batches (%s)', (kind) => {
  const f = useEngineFixture(kind, [GREET, TAGGER]);

  it('advances each as alone, once, and leaves stale and early ones alone', async () => {
    const optIn = (i: number, source: string) => ({ id: `wb-${i}`, type: 'opt_in', occurredAt: T0.toISO()!, contact: { email: `wb-${i}@example.com` }, data: { source } });
    // Contact 0 is in both sequences; the others only in greet. Contact 5 opts in half an hour later.
    await applyEvents(f.deps, [optIn(0, 'website'), optIn(1, 'x'), optIn(2, 'x'), optIn(3, 'x'), optIn(4, 'x')], T0);
    await applyEvents(f.deps, [optIn(5, 'x')], T0.plus({ minutes: 30 }));
    const enrollments = await f.store.db.selectFrom('enrollments').innerJoin('contacts', 'contacts.id', 'enrollments.contact_id').select(['enrollments.id', 'wake_version', 'email', 'sequence_id']).orderBy('email').orderBy('sequence_id').execute();
    expect(enrollments).toHaveLength(7);
    const late = enrollments.find((e) => e.email === 'wb-5@example.com')!;
    const due = enrollments.filter((e) => e !== late);
    const at = T0.plus({ hours: 1 });
    const requests = [
      ...due.map((e) => ({ enrollmentId: e.id, version: e.wake_version })),
      { enrollmentId: due[1]!.id, version: due[1]!.wake_version + 7 }, // made for a version that never was
      { enrollmentId: due[2]!.id, version: due[2]!.wake_version }, // the same job twice
      { enrollmentId: late.id, version: late.wake_version },
    ];
    const results = await wakeEnrollments(f.deps, requests, at);
    expect(results.map((r) => r.status)).toEqual([...due.map(() => 'advanced'), 'stale', 'stale', 'early']);

    const touches = await f.store.db.selectFrom('touches').innerJoin('contacts', 'contacts.id', 'touches.contact_id').select(['email', 'step_id', 'touches.id']).where('touches.kind', '=', 'email').orderBy('email').orderBy('step_id').execute();
    const steps = (email: string) => touches.filter((t) => t.email === email).map((t) => t.step_id);
    expect(steps('wb-0@example.com').sort()).toEqual(['guide', 'monthly', 'welcome'].sort());
    for (const i of [1, 2, 3, 4]) expect(steps(`wb-${i}@example.com`).sort()).toEqual(['guide', 'welcome']);
    expect(steps('wb-5@example.com')).toEqual(['welcome']);
    const contact0 = await f.store.db.selectFrom('contacts').select('tags').where('email', '=', 'wb-0@example.com').executeTakeFirstOrThrow();
    expect(contact0.tags).toEqual(['engaged']);

    // Every email written is handed on to be sent, and every next wake-up with its new version.
    const sends = results.flatMap((r) => r.after.sends.map((s) => s.touchId)).sort();
    const written = touches.filter((t) => t.step_id !== 'welcome').map((t) => t.id).sort();
    expect(sends).toEqual(written);
    const after = await f.store.db.selectFrom('enrollments').select(['id', 'wake_version', 'next_wake_at', 'status']).execute();
    for (const e of due) {
      const now = after.find((a) => a.id === e.id)!;
      expect(now.wake_version).toBe(e.wake_version + 1);
      const wake = results.flatMap((r) => r.after.wakes).find((w) => w.enrollmentId === e.id);
      if (now.status === 'active') expect(wake).toEqual({ enrollmentId: e.id, version: e.wake_version + 1, at: now.next_wake_at });
    }

    // The same batch again: nothing is due at those versions any more.
    const again = await wakeEnrollments(f.deps, requests, at);
    expect(again.map((r) => r.status)).toEqual([...due.map(() => 'stale'), 'stale', 'stale', 'early']);
    const count = await f.store.db.selectFrom('touches').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(touches.length);

    // One alone and the batch agree: the late one, woken alone when due, takes the same step.
    expect((await wakeEnrollment(f.deps, late.id, late.wake_version, at.plus({ minutes: 30 }))).status).toBe('advanced');
    const lateSteps = await f.store.db.selectFrom('touches').select('step_id').where('enrollment_id', '=', late.id).orderBy('step_id').execute();
    expect(lateSteps.map((t) => t.step_id)).toEqual(['guide', 'welcome']);
  });
});
