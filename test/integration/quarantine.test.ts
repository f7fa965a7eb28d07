import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { retryEnrollments } from '../../src/app/retry-enrollments.js';
import { runWakeUp } from '../../src/app/run-wake-up.js';
import { ConflictError } from '../../src/errors.js';
import { countStuck, stuckEnrollments } from '../../src/queries/stuck-enrollments.js';
import { stuckText } from '../../src/cli/enrollments.js';
import { computeStats } from '../../src/cli/stats.js';
import { useEngineFixture } from '../support/engine-fixture.js';
import { programFromYaml } from '../support/programs.js';
import { appContextFor } from '../support/engine.js';
import { applyEvent } from '../../src/engine/apply-event.js';
import { beginSendAttempt, finishSend, insertTouches } from '../../src/db/touch-repository.js';

/**
 * A wake-up whose step throws (here: a postcard whose template fails to render) is tried a few
 * times, then quarantined with its reason: listed, no longer offered by the sweeper, and run
 * again by `retry` once the template is fixed.
 */
const SEQUENCE = `
id: q
trigger: { event: opt_in }
steps:
  - wait: 1 day
  - postcard: broken
  - wait: 1 day
`;
const TRIES = 5;
const T0 = DateTime.fromISO('2026-03-02T09:00:00Z', { zone: 'utc' });

describe.each(['postgres', 'pglite'] as const)('quarantine of a failing wake-up (%s)', (kind) => {
  // Published with its templates: the postcard's helper does not exist, so it fails at every render.
  const f = useEngineFixture(kind, [SEQUENCE], undefined, { broken: '---\nsubject: Postcard\n---\n<p>{{shout firstName}}</p>\n' });

  it('is quarantined after the tries with its reason, listed, and retried after the fix', async () => {
    await applyEvent(f.deps, { id: 'o1', type: 'opt_in', occurredAt: T0.toISO()!, contact: { email: 'stuck@example.com' }, data: {} }, T0);
    const e = await f.store.db.selectFrom('enrollments').selectAll().executeTakeFirstOrThrow();
    const due = T0.plus({ days: 1, minutes: 1 });

    for (let i = 1; i < TRIES; i++) {
      const r = await runWakeUp(appContextFor(f.deps), e.id, e.wake_version, due.plus({ minutes: i }), { maxTries: TRIES });
      expect(r).toMatchObject({ status: 'failed', failures: i, quarantined: false });
    }
    expect(await countStuck(f.store.db)).toEqual({ enrollments: 0, sends: 0 });
    const last = await runWakeUp(appContextFor(f.deps), e.id, e.wake_version, due.plus({ minutes: TRIES }), { maxTries: TRIES });
    expect(last).toMatchObject({ status: 'failed', failures: TRIES, quarantined: true });
    if (last.status !== 'failed') throw new Error('unreachable');
    expect(last.error).toMatch(/broken.*rendering failed.*shout/s);

    const report = await stuckEnrollments(f.store.db, { limit: 10 });
    expect(report.counts).toEqual({ enrollments: 1, sends: 0 });
    // ... and it is counted where an operator looks first.
    const shown = await computeStats(f.store.db, { now: due.plus({ hours: 1 }), zone: 'UTC' });
    expect(shown.data.stuck).toEqual({ enrollments: 1, sends: 0 });
    expect(shown.text).toMatch(/^Stuck\s+1 quarantined wake-up\(s\), 0 email\(s\) that gave up \(nurture enrollments stuck\)$/m);
    expect(report.wakeUps).toEqual([
      {
        kind: 'wake-up',
        enrollmentId: e.id,
        email: 'stuck@example.com',
        sequenceId: 'q',
        stepId: e.step_id,
        tries: TRIES,
        lastError: last.error,
        since: due.plus({ minutes: TRIES }).toJSDate().toISOString(),
      },
    ]);
    const text = stuckText(report, { now: due.plus({ hours: 1 }), zone: 'UTC' });
    expect(text).toContain(e.id);
    expect(text).toContain('stuck@example.com');
    expect(text).toContain('rendering failed');

    // The sweeper's query leaves it out (src/db/enrollment-repository.ts dueWakes).
    const { dueWakes } = await import('../../src/db/enrollment-repository.js');
    expect(await dueWakes(f.store.db, due.plus({ days: 30 }).toJSDate(), 100)).toEqual([]);

    // Fix the template, retry: the wake-up runs and the enrollment moves on.
    await writeFile(path.join(f.deps.templates.dir, 'broken.hbs'), '---\nsubject: Postcard\n---\n<p>Dear {{firstName}}</p>\n');
    // What the running engine does on SIGHUP or with --watch: the fixed template makes a new live version.
    await f.deps.registry.publish([{ file: 'seq-0.yaml', program: programFromYaml(SEQUENCE, 'seq-0.yaml') }]);
    const retried = await retryEnrollments(appContextFor(f.deps), { ids: [e.id] }, due);
    expect(retried.retried).toEqual([{ enrollmentId: e.id, wakeAt: e.next_wake_at!.toISOString() }]);
    expect(retried.after.wakes).toEqual([{ enrollmentId: e.id, version: e.wake_version + 1, at: e.next_wake_at }]);
    expect(await countStuck(f.store.db)).toEqual({ enrollments: 0, sends: 0 });
    expect((await dueWakes(f.store.db, due.plus({ days: 30 }).toJSDate(), 100)).map((w) => w.id)).toEqual([e.id]);

    const ok = await runWakeUp(appContextFor(f.deps), e.id, e.wake_version + 1, due.plus({ hours: 1 }), { maxTries: TRIES });
    expect(ok.status).toBe('advanced');
    const after = await f.store.db.selectFrom('enrollments').selectAll().where('id', '=', e.id).executeTakeFirstOrThrow();
    expect(after).toMatchObject({ failures: 0, last_error: null, quarantined_at: null, status: 'active' });
    const tasks = await f.store.db.selectFrom('tasks').select(['kind', 'content']).execute();
    expect(tasks).toHaveLength(1);
    expect(JSON.stringify(tasks[0]!.content)).toContain('Dear');

    // Retrying what is not quarantined says so.
    await expect(retryEnrollments(appContextFor(f.deps), { ids: [e.id] }, due)).rejects.toThrow(ConflictError);
    expect((await retryEnrollments(appContextFor(f.deps), { all: true }, due)).retried).toEqual([]);
  });

  it('lists an email that gave up beside them, with its tries and last error', async () => {
    const contact = await f.store.db.selectFrom('contacts').select('id').where('email', '=', 'stuck@example.com').executeTakeFirstOrThrow();
    const id = randomUUID();
    await insertTouches(f.store.db, [
      { id, key: `manual/${id}`, enrollment_id: null, contact_id: contact.id, sequence_id: 'q', step_id: 'mail', kind: 'email', template: 'welcome', status: 'pending', subject: null, due_at: T0.toJSDate() },
    ]);
    for (let i = 0; i < 3; i++) await beginSendAttempt(f.store.db, id, `m-${id}@example.com`, 'Welcome');
    await finishSend(f.store.db, id, { status: 'failed', error: 'gave up after 3 attempts: 451 try later' });
    const report = await stuckEnrollments(f.store.db, { limit: 10 });
    expect(report.counts).toEqual({ enrollments: 0, sends: 1 });
    expect(report.sends).toEqual([
      expect.objectContaining({ kind: 'send', touchId: id, email: 'stuck@example.com', sequenceId: 'q', stepId: 'mail', tries: 3, lastError: 'gave up after 3 attempts: 451 try later' }),
    ]);
    expect(stuckText(report, { now: T0, zone: 'UTC' })).toContain('nurture touches retry');
  });
});
