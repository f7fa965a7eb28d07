import { rm } from 'node:fs/promises';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreKind } from '../../src/db/database.js';
import type { EngineDeps } from '../../src/engine/engine-deps.js';
import { applyEvents } from '../../src/engine/apply-event.js';
import { SequenceRegistry } from '../../src/engine/sequence-registry.js';
import type { NurtureEvent } from '../../src/sequences/event.js';
import { createTestDeps, writeTemplates } from '../support/engine.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';
import { programFromYaml } from '../support/programs.js';

const SEQUENCE = `
id: welcome-series
trigger: { event: opt_in }
steps:
  - email: welcome
  - wait: 2 days
  - email: guide
`;

const PAUSED_LATER = `
id: second
trigger: { event: opt_in }
steps:
  - email: nudge
`;

const now = DateTime.fromISO('2026-12-01T12:00:00Z', { zone: 'utc' });

function optIns(n: number, prefix: string): NurtureEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${i}`,
    type: 'opt_in',
    occurredAt: now.toISO()!,
    contact: { email: `${prefix}-${i}@example.com` },
    data: {},
  }));
}

async function applyInBatches(deps: EngineDeps, events: NurtureEvent[], size: number): Promise<void> {
  for (let i = 0; i < events.length; i += size) await applyEvents(deps, events.slice(i, i + size), now);
}

/**
 * A worker process that started before anything was published (or lags behind a publish) must
 * enroll exactly like the process that published: the live set is checked in the transaction
 * that applies the event, never taken from a view loaded earlier.
 */
describe.each<[StoreKind, number]>([
  ['postgres', 5_000],
  ['pglite', 500],
])('a worker that started before the publish (%s)', (kind, count) => {
  let store: TestStore;
  let templatesDir: string;
  let worker: EngineDeps;

  beforeAll(async () => {
    store = await createTestStore(kind);
    templatesDir = await writeTemplates();
    // The worker process: nothing is live yet when it starts.
    worker = (await createTestDeps(store.db, [], templatesDir)).deps;
    expect(worker.registry.activePrograms()).toEqual([]);
  }, 60_000);

  afterAll(async () => {
    await store?.cleanup();
    if (templatesDir) await rm(templatesDir, { recursive: true, force: true });
  });

  it(`enrolls every one of ${count} opt-ins exactly once after another process publishes`, async () => {
    // `nurture start` in another process: its own registry publishes the sequence.
    const starter = new SequenceRegistry(store.db, { templatesDir });
    await starter.publish([{ file: 'welcome.yaml', program: programFromYaml(SEQUENCE) }]);

    await applyInBatches(worker, optIns(count, 'a'), 100);

    const rows = await store.db
      .selectFrom('enrollments')
      .innerJoin('contacts', 'contacts.id', 'enrollments.contact_id')
      .select(['contacts.email', 'enrollments.sequence_id'])
      .where('contacts.email', 'like', 'a-%')
      .execute();
    expect(rows.length).toBe(count);
    expect(new Set(rows.map((r) => r.email)).size).toBe(count);
    expect(new Set(rows.map((r) => r.sequence_id))).toEqual(new Set(['welcome-series']));
  }, 120_000);

  it('sees a second publish by the other process at once, and a write to the sequences table', async () => {
    const starter = new SequenceRegistry(store.db, { templatesDir });
    await starter.publish([
      { file: 'welcome.yaml', program: programFromYaml(SEQUENCE) },
      { file: 'second.yaml', program: programFromYaml(PAUSED_LATER) },
    ]);
    await applyInBatches(worker, optIns(3, 'b'), 100);
    const enrolled = await store.db
      .selectFrom('enrollments')
      .innerJoin('contacts', 'contacts.id', 'enrollments.contact_id')
      .select(['contacts.email', 'enrollments.sequence_id'])
      .where('contacts.email', 'like', 'b-%')
      .orderBy('contacts.email')
      .orderBy('enrollments.sequence_id')
      .execute();
    expect(enrolled.map((r) => r.sequence_id)).toEqual(['second', 'welcome-series', 'second', 'welcome-series', 'second', 'welcome-series']);

    // Any other write to the table (a status column, a manual fix) is seen too: here the row is removed.
    await store.db.deleteFrom('sequences').where('id', '=', 'second').execute();
    await applyInBatches(worker, optIns(2, 'c'), 100);
    const later = await store.db
      .selectFrom('enrollments')
      .innerJoin('contacts', 'contacts.id', 'enrollments.contact_id')
      .select(['enrollments.sequence_id'])
      .where('contacts.email', 'like', 'c-%')
      .execute();
    expect(later.map((r) => r.sequence_id)).toEqual(['welcome-series', 'welcome-series']);
  }, 60_000);
});
