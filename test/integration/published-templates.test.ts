import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreKind } from '../../src/db/database.js';
import { applyEvent } from '../../src/engine/apply-event.js';
import type { EngineDeps } from '../../src/engine/engine-deps.js';
import { SequenceRegistry } from '../../src/engine/sequence-registry.js';
import { sendTouch } from '../../src/engine/send-touch.js';
import { wakeEnrollment } from '../../src/engine/wake-enrollment.js';
import { TemplateCache } from '../../src/templates/compile.js';
import type { MailSender, OutgoingMail } from '../../src/templates/mail-sender.js';
import { createTestDeps, writeTemplates } from '../support/engine.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';
import { programFromYaml } from '../support/programs.js';

// The sequence file never changes: only the template does, so the new version comes from the template alone.
const SEQUENCE = `
id: pinned
trigger: { event: opt_in }
on_edit: stay
steps:
  - wait: 1 day
  - email: note
  - postcard: card
`;

const A = '---\nsubject: Text A for {{default firstName "you"}}\n---\n<p>Body A</p>\n';
const B = '---\nsubject: Text B for {{default firstName "you"}}\n---\n<p>Body B</p>\n';
const CARD_A = '<p>Card A</p>\n';
const CARD_B = '<p>Card B</p>\n';

function capture(): MailSender & { sent: OutgoingMail[] } {
  const sent: OutgoingMail[] = [];
  return {
    sent,
    async send(mail) {
      sent.push(mail);
      return { messageId: mail.messageId, accepted: true, response: '250 ok' };
    },
    async close() {},
    describe: () => 'memory',
  };
}

const t0 = DateTime.fromISO('2026-12-01T10:00:00Z', { zone: 'utc' });

describe.each<StoreKind>(['postgres', 'pglite'])('templates published with their version (%s)', (kind) => {
  let store: TestStore;
  let templatesDir: string;
  let starter: EngineDeps;

  beforeAll(async () => {
    store = await createTestStore(kind);
    templatesDir = await writeTemplates({ note: A, card: CARD_A });
    starter = (await createTestDeps(store.db, [{ file: 'pinned.yaml', program: programFromYaml(SEQUENCE) }], templatesDir)).deps;
  }, 60_000);

  afterAll(async () => {
    await store?.cleanup();
    await rm(templatesDir, { recursive: true, force: true }).catch(() => {});
  });

  const enrollmentOf = (email: string) =>
    store.db
      .selectFrom('enrollments')
      .innerJoin('contacts', 'contacts.id', 'enrollments.contact_id')
      .select(['enrollments.id', 'enrollments.wake_version', 'enrollments.sequence_version'])
      .where('contacts.email', '=', email)
      .executeTakeFirstOrThrow();

  it('a contact pinned to v1 gets text A, a new contact gets B, and a process without the templates folder renders the same', async () => {
    const v1 = starter.registry.activeProgram('pinned')!.version;
    await applyEvent(starter, { id: 'o1', type: 'opt_in', occurredAt: t0.toISO()!, contact: { email: 'old@example.com', firstName: 'Olga' }, data: {} }, t0);

    // Only the templates change; `nurture start` publishes again.
    await writeFile(path.join(templatesDir, 'note.hbs'), B);
    await writeFile(path.join(templatesDir, 'card.hbs'), CARD_B);
    const republished = await new SequenceRegistry(store.db, { templatesDir }).publish([{ file: 'pinned.yaml', program: programFromYaml(SEQUENCE) }]);
    const v2 = republished[0]!.version;
    expect(v2).not.toBe(v1);
    expect(republished[0]!.previous).toBe(v1);
    await applyEvent(starter, { id: 'o2', type: 'opt_in', occurredAt: t0.toISO()!, contact: { email: 'new@example.com', firstName: 'Nina' }, data: {} }, t0);
    expect((await enrollmentOf('old@example.com')).sequence_version).toBe(v1);
    expect((await enrollmentOf('new@example.com')).sequence_version).toBe(v2);

    // A worker process on another machine: no templates folder at all.
    await rm(templatesDir, { recursive: true, force: true });
    const registry = new SequenceRegistry(store.db);
    await registry.refresh();
    const worker: EngineDeps = { ...starter, registry, templates: new TemplateCache(path.join(templatesDir, 'gone')) };
    const mail = capture();
    const t1 = t0.plus({ days: 1 });
    for (const email of ['old@example.com', 'new@example.com']) {
      const e = await enrollmentOf(email);
      expect((await wakeEnrollment(worker, e.id, e.wake_version, t1)).status).toBe('advanced');
      const touch = await store.db.selectFrom('touches').select('id').where('enrollment_id', '=', e.id).where('kind', '=', 'email').executeTakeFirstOrThrow();
      expect((await sendTouch(worker, mail, touch.id, t1)).status).toBe('sent');
    }
    expect(mail.sent.map((m) => [m.to, m.subject, m.html])).toEqual([
      ['old@example.com', 'Text A for Olga', '<p>Body A</p>\n'],
      ['new@example.com', 'Text B for Nina', '<p>Body B</p>\n'],
    ]);
    const cards = await store.db
      .selectFrom('tasks')
      .innerJoin('contacts', 'contacts.id', 'tasks.contact_id')
      .select(['contacts.email', 'tasks.content'])
      .where('tasks.kind', '=', 'postcard')
      .orderBy('contacts.email', 'desc')
      .execute();
    expect(cards.map((c) => [c.email, (c.content as { html?: string } | null)?.html])).toEqual([
      ['old@example.com', '<p>Card A</p>\n'],
      ['new@example.com', '<p>Card B</p>\n'],
    ]);
  }, 60_000);
});
