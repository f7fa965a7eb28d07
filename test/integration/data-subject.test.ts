import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordConsent } from '../../src/db/consent-repository.js';
import { addressHash } from '../../src/db/suppression-repository.js';
import { buildCli, runCli } from '../support/cli.js';
import type { CliStore } from '../support/cli-store.js';
import { createCliStore } from '../support/cli-store.js';
import type { TestEngine } from '../support/engine.js';
import { eventually, startTestEngine, testConfig, writeTemplates } from '../support/engine.js';
import type { TestSmtp } from '../support/smtp.js';
import { startTestSmtp } from '../support/smtp.js';

/**
 * `nurture contacts export` and `nurture contacts erase` against a running engine: what is held
 * comes out whole; what is erased is gone, and the address is never mailed again, even when the
 * same person opts in afresh.
 */
const SEQ = `
id: hello
trigger: { event: opt_in }
steps:
  - email: welcome
  - call: { note: "Call them about the guide", due: 1 day }
  - wait: 3 days
  - email: guide
`;
const ANN = 'ann@example.com';

describe('data subject requests: export and erase', () => {
  let cs: CliStore;
  let smtp: TestSmtp;
  let t: TestEngine;
  let templatesDir: string;
  const cli = (...args: string[]) => runCli(['contacts', ...args], { env: cs.env });
  const db = () => cs.store.db;

  beforeAll(async () => {
    buildCli();
    cs = await createCliStore();
    templatesDir = await writeTemplates();
    smtp = await startTestSmtp();
    t = await startTestEngine({ store: cs.store, sequences: [SEQ], templatesDir, config: testConfig({ SMTP_URL: smtp.url }) });
  }, 300_000);
  afterAll(async () => {
    await t?.stop();
    await smtp?.close();
    await cs?.cleanup();
    if (templatesDir) await rm(templatesDir, { recursive: true, force: true });
  });

  it('exports everything, erases it on --yes only, and never mails the address again after a new opt-in', async () => {
    await t.emit({
      type: 'opt_in',
      contact: {
        email: ANN,
        firstName: 'Ann',
        lastName: 'Example',
        phone: '+15555550100',
        address: { line1: '1 Main St', city: 'Springfield', postalCode: '62701', country: 'US' },
        attributes: { plan: 'pro' },
      },
      data: { source: 'website', note: 'Ann wrote: call me after 5' },
    });
    await eventually(async () => smtp.received.some((m) => m.to === ANN), 'the welcome email sent');
    const contact = await db().selectFrom('contacts').selectAll().where('email', '=', ANN).executeTakeFirstOrThrow();
    await recordConsent(db(), { email: ANN, contactId: contact.id, kind: 'opt_in', at: new Date(), source: 'form-guide', ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (Ann)', wording: 'Send me the guide' });
    await t.emit({ type: 'page_visited', email: ANN, data: { page: '/pricing' } });
    await eventually(async () => (await db().selectFrom('events').select('id').where('contact_id', '=', contact.id).execute()).length === 2, 'both events applied');

    const exported = await cli('export', ANN);
    expect(exported.code, exported.stderr).toBe(0);
    const x = JSON.parse(exported.stdout);
    expect(x.email).toBe(ANN);
    expect(x.contact).toMatchObject({ email: ANN, first_name: 'Ann', last_name: 'Example', phone: '+15555550100', attributes: { plan: 'pro' } });
    expect(x.events.map((e: { type: string }) => e.type)).toEqual(['opt_in', 'page_visited']);
    expect(x.events[0].data).toEqual({ source: 'website', note: 'Ann wrote: call me after 5' });
    // Made in the same transaction: in no particular order.
    const byStep = (a: { step_id: string }, b: { step_id: string }) => a.step_id.localeCompare(b.step_id);
    expect(x.touches.sort(byStep).map((tt: { step_id: string; status: string }) => [tt.step_id, tt.status])).toEqual([
      ['call', 'done'],
      ['welcome', 'sent'],
    ]);
    expect(x.touches[1].subject).toBe('Welcome Ann');
    expect(x.tasks).toHaveLength(1);
    expect(x.tasks[0]).toMatchObject({ kind: 'call', phone: '+15555550100', note: 'Call them about the guide' });
    expect(x.enrollments).toHaveLength(1);
    expect(x.enrollments[0]).toMatchObject({ sequence_id: 'hello', status: 'active' });
    expect(x.stageChanges).toEqual([]);
    // The engine's record of the opt_in event, then the form's (with where and what was agreed to).
    expect(x.consentRecords).toHaveLength(2);
    expect(x.consentRecords[0]).toMatchObject({ kind: 'opt_in', source: 'queue', ip: null });
    expect(x.consentRecords[1]).toMatchObject({ kind: 'opt_in', ip: '203.0.113.7', user_agent: 'Mozilla/5.0 (Ann)', wording: 'Send me the guide' });
    expect(x.suppressions).toEqual([]);
    expect(typeof x.exportedAt).toBe('string');

    // Without --yes: what would go, and nothing changes.
    const preview = await cli('erase', ANN);
    expect(preview.code, preview.stderr).toBe(0);
    expect(preview.stdout).toContain('2 event(s), 2 touch(es), 1 task(s), 1 enrollment(s), 2 consent record(s)');
    expect(preview.stdout).toContain('Nothing changed');
    expect((await db().selectFrom('contacts').select('first_name').where('id', '=', contact.id).executeTakeFirstOrThrow()).first_name).toBe('Ann');

    // A double opt-in still waiting for its click holds the person as the form gave them.
    await db()
      .insertInto('pending_opt_ins')
      .values({
        contact_id: contact.id, form_id: 'guide', form_version: 'v1', contact: JSON.stringify({ email: ANN, firstName: 'Ann' }), data: JSON.stringify({ source: 'guide' }),
        ip: '203.0.113.7', user_agent: 'Mozilla/5.0 (Ann)', wording: 'Send me the guide', wording_hash: 'h', created_at: new Date(), expires_at: new Date(Date.now() + 86_400_000),
      })
      .execute();
    const erased = await cli('erase', ANN, '--yes');
    expect(erased.code, erased.stderr).toBe(0);
    expect(erased.stdout).toContain(`${ANN} erased`);

    const row = await db().selectFrom('contacts').selectAll().where('id', '=', contact.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ email: `erased-${contact.id}@erased.invalid`, first_name: null, last_name: null, phone: null, timezone: null, address: null, attributes: {}, tags: [] });
    for (const e of await db().selectFrom('events').select(['data', 'contact']).where('contact_id', '=', contact.id).execute()) expect(e).toEqual({ data: {}, contact: null });
    const touches = await db().selectFrom('touches').select(['step_id', 'status', 'subject', 'error']).where('contact_id', '=', contact.id).orderBy('created_at').execute();
    expect(touches.sort(byStep).map((tt) => [tt.step_id, tt.status, tt.subject])).toEqual([
      ['call', 'done', null],
      ['welcome', 'sent', null],
    ]);
    expect(row.unsubscribed_at).not.toBeNull();
    expect(await db().selectFrom('pending_opt_ins').select(['status', 'contact', 'data', 'ip', 'user_agent']).where('contact_id', '=', contact.id).execute()).toEqual([
      { status: 'expired', contact: {}, data: {}, ip: null, user_agent: null },
    ]);
    const task = await db().selectFrom('tasks').selectAll().where('contact_id', '=', contact.id).executeTakeFirstOrThrow();
    expect(task).toMatchObject({ status: 'cancelled', title: 'call (erased contact)', note: null, content: null, address: null, phone: null, history: [] });
    expect(await db().selectFrom('enrollments').select(['status', 'exit_reason']).where('contact_id', '=', contact.id).execute()).toEqual([{ status: 'exited', exit_reason: 'erased' }]);
    const consent = await db().selectFrom('consent_records').select(['kind', 'ip', 'user_agent', 'address_hash']).orderBy('id').execute();
    expect(consent).toEqual([
      { kind: 'opt_in', ip: null, user_agent: null, address_hash: addressHash(ANN) },
      { kind: 'opt_in', ip: null, user_agent: null, address_hash: addressHash(ANN) },
      { kind: 'erased', ip: null, user_agent: null, address_hash: addressHash(ANN) },
    ]);
    expect(await db().selectFrom('suppressions').select(['reason', 'email', 'address_hash']).execute()).toEqual([{ reason: 'erased', email: null, address_hash: addressHash(ANN) }]);
    // Nothing of the address is left in plain text anywhere the export looks.
    const after = await cli('export', ANN);
    expect(after.code, after.stderr).toBe(0);
    const y = JSON.parse(after.stdout);
    expect(y.contact).toBeNull();
    expect(y.suppressions).toMatchObject([{ reason: 'erased', email: null }]);
    expect(y.consentRecords.map((c: { kind: string }) => c.kind)).toEqual(['opt_in', 'opt_in', 'erased']);
    expect(after.stdout.replace(`"email": "${ANN}"`, '')).not.toContain(ANN);

    // The same person opts in again: a new contact, enrolled, but no email goes to the address.
    await t.emit({ type: 'opt_in', contact: { email: ANN, firstName: 'Ann' }, data: { source: 'website' } });
    const again = await eventually(
      () => db().selectFrom('contacts').select('id').where('email', '=', ANN).executeTakeFirst(),
      'the new opt-in applied',
    );
    expect(again.id).not.toBe(contact.id);
    const welcome = await eventually(async () => {
      const w = await db().selectFrom('touches').select(['status', 'error']).where('contact_id', '=', again.id).where('step_id', '=', 'welcome').executeTakeFirst();
      return w?.status === 'cancelled' ? w : undefined;
    }, 'the welcome email refused');
    expect(welcome.error).toMatch(/^suppressed: erased \(/);
    const shown = await cli('show', ANN);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/suppressed\s+erased \(cli, .*\); no email is sent/);
    expect(smtp.received.filter((m) => m.to === ANN)).toHaveLength(1);
  });

  it('says so for an address it holds nothing about', async () => {
    const r = await cli('export', 'nobody@example.com');
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('no contact nobody@example.com');
    const e = await cli('erase', 'nobody@example.com', '--yes');
    expect(e.code).toBe(4);
  });
});
