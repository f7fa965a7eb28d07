import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { DateTime } from 'luxon';
import { getDocumentProxy } from 'unpdf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confirmMailRun } from '../../src/app/confirm-mail-run.js';
import type { MailRunCreated } from '../../src/app/create-mail-run.js';
import { createMailRun } from '../../src/app/create-mail-run.js';
import type { AppContext } from '../../src/app/context.js';
import { insertTask } from '../../src/db/task-repository.js';
import { NotFoundError } from '../../src/errors.js';
import { MAIL_CSV_COLUMNS } from '../../src/staff/mail-piece.js';
import { appContextFor, createTestDeps } from '../support/engine.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';

/** Mail runs against real PostgreSQL and the embedded store: the export (CSV and PDF read back), the holds, the confirmation. */

const ZONE = 'America/Chicago';
// 20:00 in Chicago on Thursday 3 December (already the 4th in UTC).
const NOW = DateTime.fromISO('2026-12-03T20:00:00', { zone: ZONE });
const local = (iso: string) => DateTime.fromISO(iso, { zone: ZONE }).toJSDate();

const US = { line1: '233 S Wacker Dr', line2: 'Suite 100', city: 'Chicago', region: 'IL', postalCode: '60606', country: 'US' };
const DE = { line1: 'Hauptstrasse 5', city: 'Berlin', postalCode: '10115', country: 'Germany' };
const MM = 72 / 25.4;

interface PageText {
  text: string;
  /** Each text item with its position in mm from the page's top left. */
  items: { str: string; x: number; y: number }[];
}

async function readPdf(file: string): Promise<PageText[]> {
  const pdf = await getDocumentProxy(new Uint8Array(await readFile(file)));
  const pages: PageText[] = [];
  for (let i = 1; i <= pdf.numPages; i++) {
    const page = await pdf.getPage(i);
    const height = page.view[3]!;
    const content = await page.getTextContent();
    // pdf.js text items: the string and its transform matrix (e, f: the baseline's x, y from the bottom left).
    const items = (content.items as { str?: string; transform: number[] }[])
      .filter((it) => (it.str ?? '').trim() !== '')
      .map((it) => ({ str: it.str!, x: it.transform[4]! / MM, y: (height - it.transform[5]!) / MM }));
    pages.push({ text: items.map((it) => it.str).join('\n'), items });
  }
  await pdf.destroy();
  return pages;
}

describe.each(['postgres', 'pglite'] as const)('mail runs (%s)', (storeKind) => {
  let store: TestStore;
  let ctx: AppContext;
  let outDir: string;
  let templatesDir: string;
  const ids: Record<string, number> = {};

  async function contact(email: string, firstName: string, lastName: string, address: object | null, extra: { address_bad_at?: Date; attributes?: object } = {}) {
    const r = await store.db
      .insertInto('contacts')
      .values({
        email,
        first_name: firstName,
        last_name: lastName,
        address: address ? JSON.stringify(address) : null,
        attributes: JSON.stringify(extra.attributes ?? {}),
        tags: '[]',
        address_bad_at: extra.address_bad_at ?? null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return r.id;
  }

  async function piece(name: string, kind: 'postcard' | 'letter', contactId: string, address: object | null, dueAt: Date) {
    const id = await insertTask(store.db, {
      touch_id: null,
      contact_id: contactId,
      enrollment_id: null,
      kind,
      priority: 'normal',
      title: `${kind} to ${name}`,
      note: null,
      content: { template: 'hello', subject: `Hello ${name}`, html: `<p>Dear ${name}</p>`, text: `Dear ${name},\n\nthank you for stopping by.` },
      address: address as Record<string, unknown> | null,
      phone: null,
      history: [],
      due_at: dueAt,
    });
    ids[name] = id!;
  }

  const taskRow = (id: number) => store.db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const create = (o: Partial<Parameters<typeof createMailRun>[1]> = {}, now = NOW) =>
    createMailRun(ctx, { kind: 'postcard', due: 'today', outDir, by: 'ops@example.com', ...o }, now);

  beforeAll(async () => {
    store = await createTestStore(storeKind);
    outDir = await mkdtemp(path.join(tmpdir(), 'nurture-mail-run-'));
    templatesDir = await mkdtemp(path.join(tmpdir(), 'nurture-mail-run-tpl-'));
    const { deps } = await createTestDeps(store.db, [], templatesDir);
    ctx = appContextFor({ ...deps, config: { ...deps.config, defaultZone: ZONE } });

    const ann = await contact('ann@example.com', 'Ann', 'Lee', US, { attributes: { company: 'Acme Inc' } });
    const bob = await contact('bob@example.com', 'Bob', 'Beck', DE);
    const cat = await contact('cat@example.com', 'Cat', 'Cole', US, { address_bad_at: new Date('2026-11-30T12:00:00Z') });
    const dan = await contact('dan@example.com', 'Dan', 'Dunn', null);
    const eve = await contact('eve@example.com', 'Eve', 'East', US);
    const hal = await contact('hal@example.com', 'Hal', 'Hill', null);
    await piece('Bob', 'postcard', bob, DE, local('2026-12-01T09:00')); // overdue: still in today's run
    await piece('Ann', 'postcard', ann, US, local('2026-12-03T10:00'));
    // Due 23:30 in Chicago (05:30 UTC on the 4th): today's piece in the configured zone. The task
    // was made before Hal had an address; the one on the contact now is used.
    await piece('Hal', 'postcard', hal, null, local('2026-12-03T23:30'));
    await store.db.updateTable('contacts').set({ address: JSON.stringify(DE) }).where('id', '=', hal).execute();
    await piece('Cat', 'postcard', cat, US, local('2026-12-03T09:00'));
    await piece('Dan', 'postcard', dan, null, local('2026-12-03T09:30'));
    await piece('Eve', 'postcard', eve, US, local('2026-12-04T00:30')); // tomorrow
    await piece('Eve letter', 'letter', eve, US, local('2026-12-03T08:00')); // another kind
  });

  afterAll(async () => {
    await store?.cleanup();
    for (const d of [outDir, templatesDir]) if (d) await rm(d, { recursive: true, force: true });
  });

  let first: MailRunCreated;

  it("exports today's open postcards in the default zone as a CSV and a one-page-per-piece PDF, and records the run", async () => {
    first = await create({ runId: 'mr-test-1' });

    expect(first.runId).toBe('mr-test-1');
    expect(first.dueDate).toBe('2026-12-03');
    expect(first.pieces.map((p) => p.taskId)).toEqual([ids['Bob'], ids['Ann'], ids['Hal']]);
    expect(first.skipped).toEqual([
      { taskId: ids['Cat'], email: 'cat@example.com', reason: 'address_bad', detail: expect.stringContaining('2026-11-30') },
      { taskId: ids['Dan'], email: 'dan@example.com', reason: 'no_address', detail: 'no postal address on file' },
    ]);
    expect(first.held).toEqual([]);
    expect(first.files).toEqual({ csv: path.join(outDir, 'mr-test-1.csv'), pdf: path.join(outDir, 'mr-test-1.pdf') });

    const rows = parse(await readFile(first.files!.csv, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!)).toEqual([...MAIL_CSV_COLUMNS]);
    expect(rows.map((r) => [r['piece_id'], r['full_name'], r['city'], r['postal_code']])).toEqual([
      [String(ids['Bob']), 'Bob Beck', 'Berlin', '10115'],
      [String(ids['Ann']), 'Ann Lee', 'Chicago', '60606'],
      [String(ids['Hal']), 'Hal Hill', 'Berlin', '10115'],
    ]);
    expect(rows[1]).toMatchObject({ run_id: 'mr-test-1', kind: 'postcard', company: 'Acme Inc', address_line2: 'Suite 100', state: 'IL', country: 'US' });

    const pages = await readPdf(first.files!.pdf);
    expect(pages).toHaveLength(3);
    const blocks = [
      ['Bob Beck', 'Hauptstrasse 5', '10115 Berlin', 'GERMANY'],
      ['Ann Lee', 'Acme Inc', '233 S Wacker Dr', 'Suite 100', 'Chicago, IL 60606', 'US'],
      ['Hal Hill', 'Hauptstrasse 5', '10115 Berlin', 'GERMANY'],
    ];
    pages.forEach((page, i) => {
      const block = blocks[i]!;
      for (const line of block) {
        // Every line of the block inside the DL window: 20 mm from the left, 45 to 90 mm down.
        const item = page.items.find((it) => it.str === line);
        expect(item, `page ${i + 1}: "${line}"`).toBeDefined();
        expect(item!.x).toBeCloseTo(20, 0);
        expect(item!.y).toBeGreaterThan(45);
        expect(item!.y).toBeLessThan(90);
      }
      const name = block[0]!.split(' ')[0]!;
      expect(page.text).toContain(`Hello ${name}`);
      expect(page.text).toContain(`Dear ${name},`);
      expect(page.text).toContain(`mr-test-1 / piece ${first.pieces[i]!.taskId}`);
    });

    const run = await store.db.selectFrom('mail_runs').selectAll().where('id', '=', 'mr-test-1').executeTakeFirstOrThrow();
    expect(run).toMatchObject({ kind: 'postcard', due_date: '2026-12-03', created_by: 'ops@example.com', confirmed_at: null });
    expect(run.task_ids).toEqual([ids['Bob'], ids['Ann'], ids['Hal']]);
    expect(run.files).toEqual(first.files);
    // Exporting marks nothing sent.
    expect((await taskRow(ids['Ann']!)).status).toBe('open');
    expect((await readdir(outDir)).sort()).toEqual(['mr-test-1.csv', 'mr-test-1.pdf']);
  });

  it('a piece already in an unconfirmed run is held, not exported twice; --again exports it in a new run', async () => {
    const again = await create();
    expect(again.runId).toBeNull();
    expect(again.files).toBeNull();
    expect(again.held).toEqual([ids['Bob'], ids['Ann'], ids['Hal']].map((taskId) => ({ taskId, runId: 'mr-test-1' })));
    expect(await store.db.selectFrom('mail_runs').select('id').execute()).toHaveLength(1);

    const forced = await create({ again: true, runId: 'mr-test-2' });
    expect(forced.pieces.map((p) => p.taskId)).toEqual([ids['Bob'], ids['Ann'], ids['Hal']]);
    expect(await readPdf(forced.files!.pdf)).toHaveLength(3);
  });

  it('a given date takes what was due by the end of that local day, letters apart', async () => {
    const tomorrow = await create({ due: '2026-12-04', runId: 'mr-test-3' });
    expect(tomorrow.pieces.map((p) => p.taskId)).toEqual([ids['Eve']]);
    const letters = await create({ kind: 'letter', runId: 'mr-test-4' });
    expect(letters.pieces.map((p) => p.taskId)).toEqual([ids['Eve letter']]);
  });

  it('confirming marks every piece done as sent and stamps the run; a second confirmation is a no-op', async () => {
    const at = NOW.plus({ hours: 1 });
    const r = await confirmMailRun(ctx, 'mr-test-1', 'ops@example.com', at);
    expect(r).toMatchObject({ alreadyConfirmed: false, sent: [ids['Bob'], ids['Ann'], ids['Hal']], alreadySent: [], left: [] });
    for (const name of ['Bob', 'Ann', 'Hal']) {
      const t = await taskRow(ids[name]!);
      expect(t).toMatchObject({ status: 'done', outcome: 'sent' });
      expect(t.completed_at?.toISOString()).toBe(at.toJSDate().toISOString());
    }
    expect((await taskRow(ids['Cat']!)).status).toBe('open');
    const run = await store.db.selectFrom('mail_runs').selectAll().where('id', '=', 'mr-test-1').executeTakeFirstOrThrow();
    expect(run).toMatchObject({ confirmed_by: 'ops@example.com' });
    expect(run.confirmed_at?.toISOString()).toBe(at.toJSDate().toISOString());

    const twice = await confirmMailRun(ctx, 'mr-test-1', 'someone@example.com', at.plus({ hours: 1 }));
    expect(twice).toMatchObject({ alreadyConfirmed: true, confirmedBy: 'ops@example.com', sent: [], alreadySent: [] });
    expect(twice.confirmedAt.toISOString()).toBe(at.toJSDate().toISOString());

    // The run exported again with --again holds the same pieces: they stay done as they are.
    const second = await confirmMailRun(ctx, 'mr-test-2', 'ops@example.com', at.plus({ hours: 2 }));
    expect(second).toMatchObject({ alreadyConfirmed: false, sent: [], alreadySent: [ids['Bob'], ids['Ann'], ids['Hal']] });
    expect((await taskRow(ids['Ann']!)).completed_at?.toISOString()).toBe(at.toJSDate().toISOString());
  });

  it('a piece cancelled since the export is left as it is and listed', async () => {
    await store.db.updateTable('tasks').set({ status: 'cancelled', outcome: 'cancelled: promoted', completed_at: NOW.toJSDate() }).where('id', '=', ids['Eve']!).execute();
    const r = await confirmMailRun(ctx, 'mr-test-3', 'ops@example.com', NOW);
    expect(r.sent).toEqual([]);
    expect(r.left).toEqual([{ taskId: ids['Eve'], reason: expect.stringContaining('cancelled') }]);
    expect((await taskRow(ids['Eve']!)).status).toBe('cancelled');
  });

  it('two runs made at once never share a piece', async () => {
    const ivy = await contact(`ivy-${storeKind}@example.com`, 'Ivy', 'Ives', US);
    await piece('Ivy', 'postcard', ivy, US, local('2026-12-03T12:00'));
    await piece('Ivy 2', 'postcard', ivy, US, local('2026-12-03T13:00'));
    const [a, b] = await Promise.all([create({ runId: 'mr-race-a' }), create({ runId: 'mr-race-b' })]);
    const exported = [...a.pieces, ...b.pieces].map((p) => p.taskId).sort((x, y) => x - y);
    expect(exported).toEqual([ids['Ivy'], ids['Ivy 2']]);
    const [made, held] = a.runId ? [a, b] : [b, a];
    expect(made.pieces).toHaveLength(2);
    expect(held.runId).toBeNull();
    expect(held.held.map((h) => h.runId)).toEqual([made.runId, made.runId]);
  });

  it('an unknown run is NotFound', async () => {
    await expect(confirmMailRun(ctx, 'mr-nope', 'ops@example.com', NOW)).rejects.toThrow(NotFoundError);
  });
});
