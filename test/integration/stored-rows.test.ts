import { rm } from 'node:fs/promises';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineDeps } from '../../src/engine/engine-deps.js';
import { sendTouch } from '../../src/engine/send-touch.js';
import { wakeEnrollment } from '../../src/engine/wake-enrollment.js';
import { StoredDataError } from '../../src/errors.js';
import type { MailSender, OutgoingMail } from '../../src/templates/mail-sender.js';
import { createTestDeps, writeTemplates } from '../support/engine.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';
import { programFromYaml } from '../support/programs.js';

/**
 * Rows written before stored state was versioned (a definition with no `v`, no stored templates,
 * a v1 enrollment state) keep working: they are read through the upgrade chain. A row that
 * fits no version stops with an error naming the row and the field, never a silent cast.
 */
const OLD = `
id: old-one
trigger: { event: opt_in }
on_edit: stay
steps:
  - wait: 1 day
  - email: welcome
`;

const t0 = DateTime.fromISO('2026-11-20T10:00:00Z', { zone: 'utc' });

describe('rows stored by an earlier release', () => {
  let store: TestStore;
  let templatesDir: string;
  let deps: EngineDeps;
  const version = 'oldversion01';

  beforeAll(async () => {
    store = await createTestStore('postgres');
    templatesDir = await writeTemplates();
    deps = (await createTestDeps(store.db, [], templatesDir)).deps;
    const def = programFromYaml(OLD).definition;
    // Exactly what the previous release wrote: the bare definition, no templates column value.
    await store.db.insertInto('sequence_versions').values({ sequence_id: 'old-one', version, definition: JSON.stringify(def), source_file: 'old-one.yaml', templates: null }).execute();
    await store.db.insertInto('sequences').values({ id: 'old-one', active_version: version }).execute();
  }, 60_000);

  afterAll(async () => {
    await store?.cleanup();
    if (templatesDir) await rm(templatesDir, { recursive: true, force: true });
  });

  async function pinnedEnrollment(email: string, state: unknown): Promise<string> {
    const c = await store.db.insertInto('contacts').values({ email, attributes: '{}', tags: '[]' }).returning('id').executeTakeFirstOrThrow();
    const e = await store.db
      .insertInto('enrollments')
      .values({
        contact_id: c.id,
        sequence_id: 'old-one',
        sequence_version: version,
        status: 'active',
        exit_reason: null,
        state: JSON.stringify(state),
        step_id: 'wait',
        next_wake_at: t0.plus({ days: 1 }).toJSDate(),
        enrolled_at: t0.toJSDate(),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return e.id;
  }

  it('runs a v1 enrollment on a v1 definition, writes its state back as v2, and renders from the templates folder', async () => {
    const v1State = { pc: 0, at: 'wait:wait', loops: {}, clock: t0.toISO(), pending: { kind: 'wait', until: t0.plus({ days: 1 }).toISO() } };
    const id = await pinnedEnrollment('v1@example.com', v1State);
    expect((await wakeEnrollment(deps, id, 0, t0.plus({ days: 1 }))).status).toBe('advanced');
    const row = await store.db.selectFrom('enrollments').select(['state', 'sequence_version', 'status']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ sequence_version: version, status: 'completed', state: { v: 2 } });

    const sent: OutgoingMail[] = [];
    const mail: MailSender = { send: async (m) => (sent.push(m), { messageId: m.messageId, accepted: true, response: 'ok' }), close: async () => {}, describe: () => 'memory' };
    const touch = await store.db.selectFrom('touches').select('id').where('enrollment_id', '=', id).executeTakeFirstOrThrow();
    expect((await sendTouch(deps, mail, touch.id, t0.plus({ days: 1 }))).status).toBe('sent');
    expect(sent.map((m) => m.subject)).toEqual(['Welcome friend']);
  });

  it('stops a state that fits no version with the enrollment, its version and the field named', async () => {
    const bad = { v: 1, pc: 0, at: 'wait:wait', loops: {}, clock: t0.toISO(), pending: { kind: 'snooze', until: t0.toISO() } };
    const id = await pinnedEnrollment('bad@example.com', bad);
    const err = await wakeEnrollment(deps, id, 0, t0.plus({ days: 1 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoredDataError);
    expect((err as StoredDataError).message).toMatch(new RegExp(`^enrollment ${id} \\(sequence old-one version ${version}\\): state\\.pending\\.kind: `));
  });

  it('stops a stored definition that fits no version with the sequence version and the field named', async () => {
    const def = JSON.parse(JSON.stringify(programFromYaml(OLD).definition)) as { steps: { wait?: unknown }[] };
    def.steps[0]!.wait = { kind: 'for', duration: '1 day' };
    await store.db.insertInto('sequence_versions').values({ sequence_id: 'old-one', version: 'broken000001', definition: JSON.stringify(def), source_file: 'old-one.yaml', templates: null }).execute();
    const err = await deps.registry.version('old-one', 'broken000001').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoredDataError);
    expect((err as Error).message).toMatch(/^stored version broken000001 of sequence old-one: definition\.steps\.0\.wait: /);
  });
});
