import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, runCli } from '../support/cli.js';
import type { CliStore } from '../support/cli-store.js';
import { createCliStore } from '../support/cli-store.js';
import type { TestEngine } from '../support/engine.js';
import { TEST_TEMPLATES, eventually, startTestEngine, testConfig, writeTemplates } from '../support/engine.js';
import { programFromYaml } from '../support/programs.js';
import type { TestSmtp } from '../support/smtp.js';
import { startTestSmtp } from '../support/smtp.js';

/**
 * `nurture touches retry ID | --failed` against a running engine. An email whose template could
 * not be rendered is failed, and a retry gets it sent once the template is fixed (and the fix
 * published: the contact, on `on_edit: migrate`, gets the live version's template). An email the
 * mail server refused for good (554 5.7.1, a refusal of the message rather than of the address) is
 * failed too, and is sent once retried.
 */

const SEQUENCE = `
id: hello
trigger: { event: opt_in }
steps:
  - email: later
  - wait: 30 days
  - email: guide
`;

describe('nurture touches retry', () => {
  let cs: CliStore;
  let smtp: TestSmtp;
  let t: TestEngine;
  let templatesDir: string;
  let refuse = false;
  const cli = (...args: string[]) => runCli(['touches', ...args], { env: { ...cs.env, NURTURE_QUEUE_PREFIX: t.config.queuePrefix } });
  const emailOf = async (email: string) =>
    cs.store.db
      .selectFrom('touches')
      .innerJoin('contacts', 'contacts.id', 'touches.contact_id')
      .select(['touches.id', 'touches.status', 'touches.error', 'touches.attempts'])
      .where('contacts.email', '=', email)
      .where('touches.step_id', '=', 'later')
      .executeTakeFirst();

  beforeAll(async () => {
    buildCli();
    cs = await createCliStore();
    // Published as is: a helper that does not exist, so the email fails at render.
    templatesDir = await writeTemplates({ ...TEST_TEMPLATES, later: '---\nsubject: Later\n---\n<p>{{shout firstName}}</p>\n' });
    smtp = await startTestSmtp({
      server: {
        onRcptTo(address, _session, callback) {
          // A refusal of the message (policy), not of the address: an unknown mailbox would be a hard bounce, never retried.
          if (refuse) callback(Object.assign(new Error(`5.7.1 <${address.address}>: message refused by policy`), { responseCode: 554 }));
          else callback();
        },
      },
    });
    t = await startTestEngine({ store: cs.store, sequences: [SEQUENCE], templatesDir, config: { ...testConfig(), smtpUrl: smtp.url } });
  }, 300_000);
  afterAll(async () => {
    await t?.stop();
    await smtp?.close();
    await cs?.cleanup();
    if (templatesDir) await rm(templatesDir, { recursive: true, force: true });
  });

  it('sends a failed email again once retried', async () => {
    await t.emit({ type: 'opt_in', email: 'fay@example.com' });
    const failed = await eventually(async () => {
      const e = await emailOf('fay@example.com');
      return e?.status === 'failed' ? e : undefined;
    }, 'the email failed on its missing template');
    expect(failed.error).toContain('later');

    await writeFile(path.join(templatesDir, 'later.hbs'), '---\nsubject: Later\n---\n<p>Here it is.</p>\n');
    await t.engine.deps.registry.publish([{ file: 'seq-0.yaml', program: programFromYaml(SEQUENCE) }]); // what SIGHUP does
    const r = await cli('retry', failed.id);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`retrying ${failed.id} (fay@example.com, step later): it failed with:`);
    expect(r.stdout).toContain('1 email(s) back to pending and on the send queue');
    await eventually(async () => (await emailOf('fay@example.com'))?.status === 'sent', 'the retried email sent');
    expect(smtp.received.map((m) => m.to)).toEqual(['fay@example.com']);

    const again = await cli('retry', failed.id);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain(`touch ${failed.id} is sent, not failed: only failed emails are retried`);
  });

  it('--failed retries every failed email whose contact may still receive it, and says why it skips the rest', async () => {
    refuse = true;
    await t.emit({ type: 'opt_in', email: 'gil@example.com' });
    await t.emit({ type: 'opt_in', email: 'hal@example.com' });
    await t.emit({ type: 'opt_in', email: 'ida@example.com' });
    await eventually(
      async () => (await Promise.all(['gil', 'hal', 'ida'].map((n) => emailOf(`${n}@example.com`)))).every((e) => e?.status === 'failed'),
      'the three emails failed',
    );
    // An operator paused Ida: a retry must not reach her either.
    const pause = await runCli(['contacts', 'pause', 'ida@example.com'], { env: cs.env });
    expect(pause.code, pause.stderr).toBe(0);
    await t.emit({ type: 'unsubscribed', email: 'hal@example.com' });
    await eventually(async () => (await cs.store.db.selectFrom('contacts').select('unsubscribed_at').where('email', '=', 'hal@example.com').executeTakeFirst())?.unsubscribed_at, 'hal unsubscribed');

    refuse = false;
    const r = await cli('retry', '--failed');
    expect(r.code, r.stderr).toBe(0);
    const hal = (await emailOf('hal@example.com'))!;
    expect(r.stdout).toContain(`not retried ${hal.id} (hal@example.com): the contact unsubscribed`);
    const ida = (await emailOf('ida@example.com'))!;
    expect(r.stdout).toContain(`not retried ${ida.id} (ida@example.com): the contact is paused (nurture contacts resume first)`);
    expect(r.stdout).toContain('1 email(s) back to pending and on the send queue');
    await eventually(async () => (await emailOf('gil@example.com'))?.status === 'sent', 'gil sent');
    expect(smtp.received.map((m) => m.to).sort()).toEqual(['fay@example.com', 'gil@example.com']);
    expect((await emailOf('hal@example.com'))!.status).toBe('failed');
    expect((await emailOf('ida@example.com'))!.status).toBe('failed');

    const bad = await cli('retry', 'nope');
    expect(bad.stderr).toContain('touch id "nope" is not a touch id');
    expect((await cli('retry')).stderr).toContain('give a touch id or --failed');
  });
});
