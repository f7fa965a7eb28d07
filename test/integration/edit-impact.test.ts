import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inFlightReport } from '../../src/app/in-flight-report.js';
import { enrollmentsByStep } from '../../src/db/sequence-repository.js';
import { applyEvent } from '../../src/engine/apply-event.js';
import type { EngineDeps } from '../../src/engine/engine-deps.js';
import { editImpact, storedPrograms } from '../../src/engine/edit-impact.js';
import { readTemplates, withTemplates } from '../../src/engine/published-templates.js';
import { wakeEnrollment } from '../../src/engine/wake-enrollment.js';
import type { LoadedSequence } from '../../src/sequences/load.js';
import { programFromYaml } from '../support/programs.js';
import type { TestStore } from '../support/postgres.js';
import { createTestDeps } from '../support/engine.js';
import { TEST_DATABASE_URL, createTestStore } from '../support/postgres.js';

/**
 * The live-edit report on contacts the engine itself put at steps of version 1, in real
 * PostgreSQL, for versions 2 that are checked but never published.
 */

const WINDOW = 'send_window: { days: weekdays, from: "09:00", to: "17:00" }';
const V1 = `
id: onboarding
trigger: { event: opt_in }
steps:
  - email: welcome
    ${WINDOW}
  - wait: 2 days
  - email: guide
    ${WINDOW}
  - wait: 3 days
  - postcard: postcard
  - wait: 1 week
  - email: monthly
`;
/** guide removed; guide-wait renamed guide-pause. */
const V2 = `
id: onboarding
trigger: { event: opt_in }
steps:
  - email: welcome
    ${WINDOW}
  - wait: 2 days
  - id: guide-pause
    wait: 3 days
  - postcard: postcard
  - wait: 1 week
  - email: monthly
`;
/** Nothing after the first wait survives. */
const V3 = `
id: onboarding
trigger: { event: opt_in }
steps:
  - email: welcome
    ${WINDOW}
  - wait: 2 days
  - email: goodbye
`;

const utc = (s: string) => DateTime.fromISO(s, { zone: 'utc' });
const file = (yaml: string, name = 'sequences/onboarding.yaml'): LoadedSequence => ({ file: name, program: programFromYaml(yaml, name) });

describe('editImpact', () => {
  let store: TestStore;
  let templatesDir: string;
  let deps: EngineDeps;
  let v1: string;

  const optIn = async (email: string, at: DateTime) => {
    const r = await applyEvent(deps, { id: `opt-in-${email}`, type: 'opt_in', occurredAt: at.toISO()!, contact: { email }, data: {} }, at);
    expect(r.enrolled).toHaveLength(1);
  };
  const wake = async (email: string, at: DateTime) => {
    const e = await store.db
      .selectFrom('enrollments')
      .innerJoin('contacts', 'contacts.id', 'enrollments.contact_id')
      .select(['enrollments.id', 'enrollments.wake_version'])
      .where('contacts.email', '=', email)
      .executeTakeFirstOrThrow();
    expect((await wakeEnrollment(deps, e.id, e.wake_version, at)).status).toBe('advanced');
  };

  beforeAll(async () => {
    store = await createTestStore('postgres');
    templatesDir = await mkdtemp(path.join(tmpdir(), 'nurture-edit-impact-'));
    for (const name of ['welcome', 'guide', 'monthly', 'goodbye', 'postcard']) {
      await writeFile(path.join(templatesDir, `${name}.hbs`), `---\nsubject: ${name}\n---\n<p>${name}</p>\n`);
    }
    const created = await createTestDeps(store.db, [file(V1)], templatesDir);
    deps = created.deps;
    v1 = created.published[0]!.version;
    // At step welcome: opted in on a Saturday, the welcome email waits for Monday 09:00.
    for (const who of ['sat1', 'sat2', 'sat3']) await optIn(`${who}@example.com`, utc('2026-11-21T10:00:00Z'));
    // At welcome-wait: opted in on a Monday, welcome sent.
    for (const who of ['mon1', 'mon2']) await optIn(`${who}@example.com`, utc('2026-11-23T10:00:00Z'));
    // At step guide: opted in on a Thursday; the guide came due on Saturday and waits for Monday.
    for (const who of ['thu1', 'thu2']) {
      await optIn(`${who}@example.com`, utc('2026-11-19T10:00:00Z'));
      await wake(`${who}@example.com`, utc('2026-11-21T10:00:00Z'));
    }
    // At guide-wait: opted in a week earlier, guide sent on Wednesday.
    await optIn('early@example.com', utc('2026-11-16T10:00:00Z'));
    await wake('early@example.com', utc('2026-11-18T10:00:00Z'));
  });

  afterAll(async () => {
    await store?.cleanup();
    if (templatesDir) await rm(templatesDir, { recursive: true, force: true });
  });

  it('starts from contacts at four steps of version 1', async () => {
    const rows = await enrollmentsByStep(store.db, 'onboarding');
    const byStep = Object.fromEntries(rows.map((r) => [r.step_id, Number(r.n)]));
    expect(byStep).toEqual({ welcome: 3, 'welcome-wait': 2, guide: 2, 'guide-wait': 1 });
    expect(new Set(rows.map((r) => r.sequence_version))).toEqual(new Set([v1]));
  });

  it('says who stays and who moves past a removed step and a renamed one', async () => {
    const next = file(V2);
    for (const loader of [deps.registry, storedPrograms(store.db)]) {
      const [impact, ...others] = await editImpact(store.db, loader, [next]);
      expect(others).toEqual([]);
      expect(impact).toMatchObject({ sequenceId: 'onboarding', file: 'sequences/onboarding.yaml', from: v1, to: next.program.version, onEdit: 'migrate', contacts: 8 });
      expect(impact!.lines).toEqual([
        '3 contacts at step welcome stay at step welcome',
        '2 contacts at step welcome-wait stay at step welcome-wait',
        '2 contacts at step guide will move to step postcard',
        '1 contact at step guide-wait will move to step postcard',
      ]);
    }
  });

  it('says who finishes when nothing after their step survives', async () => {
    const [impact] = await editImpact(store.db, storedPrograms(store.db), [file(V3)]);
    expect(impact!.lines).toEqual([
      '3 contacts at step welcome stay at step welcome',
      '2 contacts at step welcome-wait stay at step welcome-wait',
      '2 contacts at step guide will finish the sequence (no later step survives)',
      '1 contact at step guide-wait will finish the sequence (no later step survives)',
    ]);
  });

  it('keeps everybody on version 1 when the new file says on_edit: stay', async () => {
    const [impact] = await editImpact(store.db, storedPrograms(store.db), [file(`${V2}on_edit: stay\n`)]);
    expect(impact!.onEdit).toBe('stay');
    expect(impact!.lines).toEqual([`8 contacts stay on version ${v1} until they finish`]);
  });

  it('has nothing to report for an unchanged file or a sequence not yet live', async () => {
    const fresh = file('id: brand-new\ntrigger: { event: opt_in }\nsteps:\n  - email: welcome\n', 'sequences/brand-new.yaml');
    // As validation hands it over: with its templates read, so the version id covers them like the published one.
    const unchanged = withTemplates(file(V1), await readTemplates(templatesDir, file(V1).program));
    expect(await editImpact(store.db, storedPrograms(store.db), [unchanged, fresh])).toEqual([]);
  });

  describe('as `nurture validate` runs it', () => {
    const env = { DATABASE_URL: TEST_DATABASE_URL, NURTURE_DATA_DIR: path.join(tmpdir(), 'nurture-edit-impact-none') };

    it('reports when a store is configured', async () => {
      const r = await inFlightReport([file(V2)], undefined, { env, open: async () => ({ db: store.db, close: async () => {} }) });
      expect(r && 'impact' in r ? r.impact.flatMap((i) => i.lines) : r).toContain('2 contacts at step guide will move to step postcard');
    });

    it('is skipped with --no-impact, and by default when there is no store', async () => {
      expect(await inFlightReport([file(V2)], false, { env })).toBeNull();
      expect(await inFlightReport([file(V2)], undefined, { env: { NURTURE_DATA_DIR: env.NURTURE_DATA_DIR } })).toBeNull();
    });

    it('says why in one line when asked for and the store cannot be reached', async () => {
      const none = await inFlightReport([file(V2)], true, { env: { NURTURE_DATA_DIR: env.NURTURE_DATA_DIR } });
      expect(none).toEqual({ skipped: `no store to read (DATABASE_URL is unset and there is no embedded store in ${env.NURTURE_DATA_DIR})` });
      const down = await inFlightReport([file(V2)], undefined, { env: { ...env, DATABASE_URL: 'postgres://127.0.0.1:9/nurture' } });
      expect(down && 'skipped' in down ? down.skipped : down).toMatch(/^PostgreSQL is not answering at 127\.0\.0\.1:9/);
    });
  });
});
