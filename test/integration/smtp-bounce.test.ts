import { rm } from 'node:fs/promises';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, runCli } from '../support/cli.js';
import type { CliStore } from '../support/cli-store.js';
import { createCliStore } from '../support/cli-store.js';
import type { TestEngine } from '../support/engine.js';
import { eventually, startTestEngine, testConfig, writeTemplates } from '../support/engine.js';
import type { TestSmtp } from '../support/smtp.js';
import { startTestSmtp } from '../support/smtp.js';

/**
 * What the mail server's answer does, through a real SMTP server and the whole engine: a refused
 * address (550 5.1.1) is a hard bounce that stops every later email to it; a refused message
 * (552 5.2.2 mailbox full) fails that email only; a 451 is tried again with backoff until the
 * server takes it.
 */
const THREE = `
id: three
trigger: { event: opt_in }
steps:
  - email: welcome
  - wait: 1 day
  - email: guide
  - wait: 1 day
  - email: nudge
`;

function smtpError(text: string, responseCode: number): Error {
  return Object.assign(new Error(text), { responseCode });
}

describe('SMTP answers: hard bounce, refused message, greylisting', () => {
  let cs: CliStore;
  let smtp: TestSmtp;
  let t: TestEngine;
  let templatesDir: string;
  const rcpt = new Map<string, number>();
  // The engine's clock: a day's wait passes when the test says so, never while an email is in flight.
  let offsetMs = 0;
  const clock = () => DateTime.utc().plus({ milliseconds: offsetMs });
  /** One day (and a minute) passes; resolves once the contact's next touch is made. */
  const nextDay = async (email: string, touchesBefore: number) => {
    offsetMs += 24 * 3600_000 + 60_000;
    await eventually(async () => (await touches(email)).length > touchesBefore, `the next step for ${email}`);
  };

  const contact = (email: string) => cs.store.db.selectFrom('contacts').selectAll().where('email', '=', email).executeTakeFirst();
  const touches = (email: string) =>
    cs.store.db
      .selectFrom('touches')
      .innerJoin('contacts', 'contacts.id', 'touches.contact_id')
      .select(['touches.step_id', 'touches.status', 'touches.error', 'touches.attempts'])
      .where('contacts.email', '=', email)
      .orderBy('touches.created_at')
      .execute();
  const enrollment = (email: string) =>
    cs.store.db
      .selectFrom('enrollments')
      .innerJoin('contacts', 'contacts.id', 'enrollments.contact_id')
      .select(['enrollments.status', 'enrollments.step_id'])
      .where('contacts.email', '=', email)
      .executeTakeFirst();

  beforeAll(async () => {
    buildCli();
    cs = await createCliStore();
    templatesDir = await writeTemplates();
    smtp = await startTestSmtp({
      server: {
        onRcptTo(address, _session, callback) {
          const n = (rcpt.get(address.address) ?? 0) + 1;
          rcpt.set(address.address, n);
          if (address.address.startsWith('gone')) return callback(smtpError(`5.1.1 <${address.address}>: Recipient address rejected: User unknown in virtual mailbox table`, 550));
          if (address.address.startsWith('full')) return callback(smtpError(`5.2.2 <${address.address}>: mailbox full`, 552));
          if (address.address.startsWith('grey') && n <= 2) return callback(smtpError('4.7.1 Greylisted, please try again later', 451));
          callback();
        },
      },
    });
    t = await startTestEngine({ store: cs.store, sequences: [THREE], templatesDir, config: testConfig({ SMTP_URL: smtp.url }), clock });
  }, 300_000);
  afterAll(async () => {
    await t?.stop();
    await smtp?.close();
    await cs?.cleanup();
    if (templatesDir) await rm(templatesDir, { recursive: true, force: true });
  });

  it('a 550 5.1.1 suppresses the address and bounces the contact: the 2nd and 3rd emails never go', async () => {
    await t.emit({ type: 'opt_in', email: 'gone@example.com' });
    await eventually(async () => (await contact('gone@example.com'))?.bounced_at, 'the contact marked bounced');
    // The enrollment walks on to its end (mail pieces and calls would still go); its emails do not.
    await nextDay('gone@example.com', 1);
    await nextDay('gone@example.com', 2);
    await eventually(async () => (await enrollment('gone@example.com'))?.status === 'completed', 'the sequence run to its end');
    const rows = await touches('gone@example.com');
    expect(rows.map((r) => [r.step_id, r.status])).toEqual([
      ['welcome', 'failed'],
      ['guide', 'cancelled'],
      ['nudge', 'cancelled'],
    ]);
    expect(rows[0]!.error).toContain('hard bounce');
    expect(rows[0]!.error).toContain('5.1.1');
    expect(rows[0]!.attempts).toBe(1);
    expect(rcpt.get('gone@example.com')).toBe(1);
    expect(smtp.received.filter((m) => m.to === 'gone@example.com')).toEqual([]);

    const suppressions = await cs.store.db.selectFrom('suppressions').select(['reason', 'source', 'email']).execute();
    expect(suppressions).toEqual([{ reason: 'hard_bounce', source: 'smtp', email: 'gone@example.com' }]);
    const changes = await cs.store.db.selectFrom('stage_changes').select(['kind', 'reason']).where('kind', '=', 'bounced').execute();
    expect(changes).toEqual([{ kind: 'bounced', reason: 'event:bounced' }]);

    const shown = await runCli(['contacts', 'show', 'gone@example.com'], { env: cs.env });
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/status\s+subscriber; email bounced .*, so no email is sent/);
    expect(shown.stdout).toMatch(/suppressed\s+hard bounce \(smtp, .*\); no email is sent/);
    const json = await runCli(['contacts', 'show', 'gone@example.com', '--json'], { env: cs.env });
    expect(JSON.parse(json.stdout).contact.emailStanding).toBe('bounced');
  });

  it('a refused message (552 5.2.2 mailbox full) fails that email only: the address stays mailable', async () => {
    await t.emit({ type: 'opt_in', email: 'full@example.com' });
    await eventually(async () => (await touches('full@example.com'))[0]?.status === 'failed', 'the welcome email refused');
    await nextDay('full@example.com', 1);
    await nextDay('full@example.com', 2);
    await eventually(async () => (await enrollment('full@example.com'))?.status === 'completed', 'the sequence run to its end');
    await eventually(async () => (await touches('full@example.com')).every((r) => r.status === 'failed'), 'every email failed');
    const rows = await touches('full@example.com');
    expect(rows.map((r) => r.step_id)).toEqual(['welcome', 'guide', 'nudge']);
    expect((await contact('full@example.com'))!.bounced_at).toBeNull();
    expect(await cs.store.db.selectFrom('suppressions').select('reason').where('email', '=', 'full@example.com').execute()).toEqual([]);
  });

  it('a 451 is tried again with backoff, and each email goes out once the server takes it', async () => {
    // The server greylists the first two tries at this address, whichever of its emails they carry.
    await t.emit({ type: 'opt_in', email: 'grey@example.com' });
    await eventually(async () => (await touches('grey@example.com')).length === 1, 'grey enrolled');
    await nextDay('grey@example.com', 1);
    await nextDay('grey@example.com', 2);
    await eventually(async () => {
      const rows = await touches('grey@example.com');
      return rows.length === 3 && rows.every((r) => r.status === 'sent');
    }, 'the three greylisted emails sent', 40_000);
    const rows = await touches('grey@example.com');
    expect(rows.every((r) => r.error === null && r.attempts >= 1)).toBe(true);
    // Two refused tries and three accepted ones: every try is an attempt on its touch, none sent twice.
    expect(rows.reduce((n, r) => n + r.attempts, 0)).toBe(5);
    expect(rcpt.get('grey@example.com')).toBe(5);
    expect(smtp.received.filter((m) => m.to === 'grey@example.com').map((m) => m.subject).sort()).toEqual(['Still there?', 'Welcome friend', 'Your guide']);
  }, 60_000);
});
