import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { loadSequences } from '../../src/sequences/load.js';
import { startEngine } from '../../src/workers/runtime.js';
import type { RunningEngine } from '../../src/workers/runtime.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';
import { deleteQueueKeys, eventually, testConfig, writeTemplates } from '../support/engine.js';
import type { TestSmtp } from '../support/smtp.js';
import { startTestSmtp } from '../support/smtp.js';
import { Redis } from 'ioredis';
import { REDIS_TEST_URL } from '../support/services.js';

/** Editing a sequence file while the engine runs: contacts in flight move by step id, nothing is sent twice. */
const V1 = `id: edited
trigger: { event: opt_in }
steps:
  - email: welcome
  - wait: 4 seconds
  - email: guide
  - wait: 1 day
  - email: monthly
`;
// The guide is gone and a postcard is new; the wait after welcome keeps its id (welcome-wait).
const V2 = `id: edited
trigger: { event: opt_in }
steps:
  - email: welcome
  - wait: 4 seconds
  - postcard: postcard
  - email: nudge
`;

describe('live edits of a sequence file', () => {
  let store: TestStore;
  let smtp: TestSmtp;
  let templatesDir: string;
  let sequencesDir: string;
  let engine: RunningEngine;
  const config = testConfig();

  beforeAll(async () => {
    store = await createTestStore('postgres');
    smtp = await startTestSmtp();
    templatesDir = await writeTemplates();
    sequencesDir = await mkdtemp(path.join(tmpdir(), 'nurture-seq-'));
    await writeFile(path.join(sequencesDir, 'edited.yaml'), V1);
    const loaded = await loadSequences(sequencesDir);
    engine = await startEngine({
      config: { ...config, smtpUrl: smtp.url },
      templatesDir,
      publish: loaded.sequences,
      sweeper: true,
      mayLaunchRedis: false,
      serveEmbedded: false,
      log: createLogger('silent'),
      store,
      reload: { sequencesDir, watch: true },
    });
  });
  afterAll(async () => {
    await engine?.stop();
    const redis = new Redis(REDIS_TEST_URL);
    await deleteQueueKeys(redis, config.queuePrefix);
    redis.disconnect();
    await smtp?.close();
    await store?.cleanup();
    if (templatesDir) await rm(templatesDir, { recursive: true, force: true });
    if (sequencesDir) await rm(sequencesDir, { recursive: true, force: true });
  });

  it('moves a contact waiting at a surviving step onto the new version, and rejects a broken edit', async () => {
    const v1 = engine.deps.registry.activeProgram('edited')!.version;
    await engine.queues.events.add('event', { id: 'edit-1', type: 'opt_in', occurredAt: new Date().toISOString(), contact: { email: 'edit@example.com' } });
    await eventually(async () => smtp.received.length === 1, 'welcome');

    await writeFile(path.join(sequencesDir, 'edited.yaml'), V2);
    const v2 = await eventually(async () => {
      const p = engine.deps.registry.activeProgram('edited')!;
      return p.version !== v1 ? p.version : undefined;
    }, 'the edit to go live');

    await eventually(async () => smtp.received.length === 2, 'the email after the wait', 15_000);
    expect(smtp.received.map((m) => m.subject)).toEqual(['Welcome friend', 'Still there?']);
    const e = await store.db.selectFrom('enrollments').selectAll().executeTakeFirstOrThrow();
    expect(e).toMatchObject({ sequence_version: v2, status: 'completed' });
    const tasks = await store.db.selectFrom('tasks').select('kind').execute();
    expect(tasks).toEqual([{ kind: 'postcard' }]);

    await writeFile(path.join(sequencesDir, 'edited.yaml'), 'id: edited\nsteps:\n  - wait: 3 munths\n');
    await new Promise((r) => setTimeout(r, 1500));
    expect(engine.deps.registry.activeProgram('edited')!.version).toBe(v2);
  });
});
