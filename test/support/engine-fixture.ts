import { rm } from 'node:fs/promises';
import { afterAll, beforeAll } from 'vitest';
import type { StoreKind } from '../../src/db/database.js';
import type { EngineDeps } from '../../src/engine/engine-deps.js';
import { TEST_TEMPLATES, createTestDeps, writeTemplates } from './engine.js';
import type { TestStore } from './postgres.js';
import { createTestStore } from './postgres.js';
import { programFromYaml } from './programs.js';

export interface EngineFixture {
  readonly store: TestStore;
  readonly deps: EngineDeps;
}

/**
 * For a describe block that calls the engine directly (no queues): a store of its own, the test
 * templates and these sequences published, set up before its tests and removed after them.
 */
export function useEngineFixture(
  kind: StoreKind,
  sequences: string[],
  adjust: (deps: EngineDeps) => EngineDeps = (d) => d,
  /** Templates besides the test ones, in the folder before the sequences are published with them. */
  extraTemplates: Record<string, string> = {},
): EngineFixture {
  let store: TestStore | undefined;
  let templatesDir: string | undefined;
  let deps: EngineDeps | undefined;
  beforeAll(async () => {
    store = await createTestStore(kind);
    templatesDir = await writeTemplates({ ...TEST_TEMPLATES, ...extraTemplates });
    const files = sequences.map((yaml, i) => ({ file: `seq-${i}.yaml`, program: programFromYaml(yaml, `seq-${i}.yaml`) }));
    deps = adjust((await createTestDeps(store.db, files, templatesDir)).deps);
  });
  afterAll(async () => {
    await store?.cleanup();
    if (templatesDir) await rm(templatesDir, { recursive: true, force: true });
  });
  return {
    get store() {
      if (!store) throw new Error('the engine fixture is not set up yet (use it inside a test)');
      return store;
    },
    get deps() {
      if (!deps) throw new Error('the engine fixture is not set up yet (use it inside a test)');
      return deps;
    },
  };
}
