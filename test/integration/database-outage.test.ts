import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';
import type { TestEngine } from '../support/engine.js';
import { eventually, startTestEngine, writeTemplates } from '../support/engine.js';

/**
 * While the database cannot be reached, an event is neither applied nor recorded as failed; its
 * job is held back and retried rather than dropped, good event or bad.
 */
const SEQUENCE = `
id: s
trigger: { event: opt_in }
steps: [ { email: welcome } ]
`;

describe('events during a database outage', () => {
  let store: TestStore;
  let templatesDir: string;
  let t: TestEngine;

  beforeAll(async () => {
    store = await createTestStore('postgres');
    templatesDir = await writeTemplates();
    t = await startTestEngine({ store, sequences: [SEQUENCE], templatesDir, sweeper: false });
  });
  afterAll(async () => {
    await t?.stop();
    await store?.cleanup();
    if (templatesDir) await rm(templatesDir, { recursive: true, force: true });
  });

  it('delays the jobs for a retry instead of losing them', async () => {
    await store.close(); // the engine's queries now fail, as with a database that went away
    await t.emit({ id: 'outage-good', type: 'opt_in', email: 'o@example.com' });
    await t.emitRaw({ id: 'outage-bad', type: 'opt_in', occurredAt: 'soon', contact: { email: 'x@example.com' } });
    const counts = await eventually(async () => {
      const c = await t.engine.queues.events.getJobCounts('delayed', 'failed', 'completed', 'waiting', 'active');
      return c.delayed === 2 ? c : undefined;
    }, 'both jobs delayed for a retry');
    expect(counts).toMatchObject({ delayed: 2, failed: 0, completed: 0 });
  });
});
