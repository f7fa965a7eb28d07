import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyEvents } from '../../src/engine/apply-event.js';
import { sendTouches } from '../../src/engine/send-touches.js';
import { suppress } from '../../src/db/suppression-repository.js';
import { createSmtpSender } from '../../src/templates/smtp-sender.js';
import type { MailSender } from '../../src/templates/mail-sender.js';
import { useEngineFixture } from '../support/engine-fixture.js';
import type { TestSmtp } from '../support/smtp.js';
import { startTestSmtp } from '../support/smtp.js';

/**
 * Emails claimed and sent in a batch over a pooled SMTP transport: each plain one goes out once
 * with its Message-ID and is marked sent, a suppressed address is cancelled as it would be alone,
 * an address the server refuses is a hard bounce, and the same batch again sends nothing.
 */
const GREET = `
id: greet
trigger: { event: opt_in }
steps:
  - email: welcome
  - wait: 180 days
  - email: guide
`;
const T0 = DateTime.fromISO('2026-11-23T15:00:00Z', { zone: 'utc' });

describe('sending in batches', () => {
  const f = useEngineFixture('postgres', [GREET]);
  let smtp: TestSmtp;
  let mail: MailSender;
  beforeAll(async () => {
    smtp = await startTestSmtp({
      server: {
        onRcptTo(address, _session, callback) {
          if (address.address.startsWith('gone')) return callback(Object.assign(new Error('5.1.1 User unknown'), { responseCode: 550 }));
          callback();
        },
      },
    });
    mail = createSmtpSender(smtp.url, { maxConnections: 3 });
  });
  afterAll(async () => {
    await mail?.close();
    await smtp?.close();
  });

  it('sends each once, cancels the suppressed, bounces the refused, and sends nothing the second time', async () => {
    const emails = ['a@example.com', 'b@example.com', 'c@example.com', 'held@example.com', 'gone@example.com'];
    await applyEvents(f.deps, emails.map((email, i) => ({ id: `sb-${i}`, type: 'opt_in', occurredAt: T0.toISO()!, contact: { email }, data: {} })), T0);
    await suppress(f.store.db, { email: 'held@example.com', reason: 'complaint', source: 'test', at: T0.toJSDate() });
    const touches = await f.store.db.selectFrom('touches').innerJoin('contacts', 'contacts.id', 'touches.contact_id').select(['touches.id', 'contacts.email']).orderBy('contacts.email').execute();
    expect(touches).toHaveLength(5);
    const ids = touches.map((t) => t.id);
    const out = await sendTouches(f.deps, mail, [...ids, ids[0]!], T0);
    const statusOf = (email: string) => {
      const o = out[touches.findIndex((t) => t.email === email)]!;
      return 'ok' in o ? o.ok.status : 'error';
    };
    expect(emails.map(statusOf)).toEqual(['sent', 'sent', 'sent', 'skipped', 'bounced']);
    expect(smtp.received.map((m) => m.to).sort()).toEqual(['a@example.com', 'b@example.com', 'c@example.com']);
    for (const m of smtp.received) expect(m.messageId).toBe(`touch-${touches.find((t) => t.email === m.to)!.id}@${/@([^>\s]+)/.exec(f.deps.config.from)![1]}`);
    const rows = await f.store.db.selectFrom('touches').innerJoin('contacts', 'contacts.id', 'touches.contact_id').select(['contacts.email', 'touches.status', 'touches.in_doubt']).orderBy('contacts.email').execute();
    expect(rows.map((r) => [r.email, r.status, r.in_doubt])).toEqual([
      ['a@example.com', 'sent', false],
      ['b@example.com', 'sent', false],
      ['c@example.com', 'sent', false],
      ['gone@example.com', 'failed', false],
      ['held@example.com', 'cancelled', false],
    ]);
    const suppressedGone = await f.store.db.selectFrom('suppressions').select('reason').where('email', '=', 'gone@example.com').execute();
    expect(suppressedGone.map((s) => s.reason)).toEqual(['hard_bounce']);

    const again = await sendTouches(f.deps, mail, ids, T0);
    expect(again.map((o) => ('ok' in o ? o.ok.status : 'error'))).toEqual(['skipped', 'skipped', 'skipped', 'skipped', 'skipped']);
    expect(smtp.received).toHaveLength(3);
  });
});
