import { sql } from 'kysely';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweeperScheduler } from '../../src/app/scheduler.js';
import type { BatchSendOutcome } from '../../src/app/send-emails.js';
import { sendEmails } from '../../src/app/send-emails.js';
import { applyEvents } from '../../src/engine/apply-event.js';
import { createLogger } from '../../src/logger.js';
import { Batcher } from '../../src/workers/batcher.js';
import { sendTouches } from '../../src/engine/send-touches.js';
import { suppress } from '../../src/db/suppression-repository.js';
import { createSmtpSender } from '../../src/templates/smtp-sender.js';
import { TransientSendError } from '../../src/templates/mail-sender.js';
import type { MailSender } from '../../src/templates/mail-sender.js';
import { useEngineFixture } from '../support/engine-fixture.js';
import type { TestSmtp } from '../support/smtp.js';
import { startTestSmtp } from '../support/smtp.js';

/**
 * Emails claimed and sent in a batch over a pooled SMTP transport: each plain one goes out once
 * with its Message-ID and is marked sent, a suppressed address is cancelled as it would be alone,
 * an address the server refuses is a hard bounce, and the same batch again sends nothing.
 * When marking them `sent` fails after the server accepted them, none is sent a second time.
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

  /**
   * The batch as the sends worker runs it: through the Batcher, which tries each item alone when
   * a batch throws, and sendEmail alone resends a touch it finds `sending` (in doubt).
   */
  async function sendAsWorker(ids: string[]): Promise<BatchSendOutcome[]> {
    const app = { deps: f.deps, scheduler: sweeperScheduler, log: createLogger('silent') };
    const batcher = new Batcher<string, BatchSendOutcome>((xs, run) => sendEmails(app, mail, xs, T0, { onSendPhase: () => run.sideEffectsBegun(), markFirstDelayMs: 1 }), ids.length, 1);
    const settled = await Promise.allSettled(ids.map((id) => batcher.submit(id)));
    return settled.map((r) => (r.status === 'fulfilled' ? r.value : { error: r.reason }));
  }

  async function optInAll(prefix: string, emails: string[]): Promise<string[]> {
    await applyEvents(f.deps, emails.map((email, i) => ({ id: `${prefix}-${i}`, type: 'opt_in', occurredAt: T0.toISO()!, contact: { email }, data: {} })), T0);
    const rows = await f.store.db.selectFrom('touches').innerJoin('contacts', 'contacts.id', 'touches.contact_id').select('touches.id').where('contacts.email', 'in', emails).orderBy('contacts.email').execute();
    expect(rows).toHaveLength(emails.length);
    return rows.map((r) => r.id);
  }

  /** Makes the update of touches from `sending` to `sent` raise: the first `times` rows it meets (a sequence is not rolled back with the failed statement), or every time for `onlyId`. */
  async function failMarkingSent(o: { times?: number; sqlstate: string; onlyId?: string; to?: 'sent' | 'failed' }): Promise<void> {
    await sql.raw(`drop sequence if exists mark_sent_failures; create sequence mark_sent_failures`).execute(f.store.db);
    await sql
      .raw(
        `create or replace function fail_mark_sent() returns trigger language plpgsql as $$
         begin
           if new.status = '${o.to ?? 'sent'}' and old.status = 'sending' and ${o.onlyId ? `new.id = '${o.onlyId}'` : `nextval('mark_sent_failures') <= ${o.times ?? 1}`} then
             raise exception 'injected: the database failed marking % ${o.to ?? 'sent'}', new.id using errcode = '${o.sqlstate}';
           end if;
           return new;
         end $$`,
      )
      .execute(f.store.db);
    await sql.raw(`drop trigger if exists fail_mark_sent on touches; create trigger fail_mark_sent before update on touches for each row execute function fail_mark_sent()`).execute(f.store.db);
  }

  async function stopFailing(): Promise<void> {
    await sql.raw(`drop trigger if exists fail_mark_sent on touches`).execute(f.store.db);
  }

  const deliveredTo = (emails: string[]) => smtp.received.map((m) => m.to).filter((to) => emails.includes(to)).sort();
  const statuses = async (ids: string[]) => (await f.store.db.selectFrom('touches').select(['id', 'status']).where('id', 'in', ids).execute()).map((r) => [r.id, r.status]).sort();

  it.each([
    ['a transient failure, once (tried again)', 'tr', '40001'],
    ['a permanent failure, once (each touch marked alone)', 'pm', 'P0001'],
  ])('delivers each email exactly once when marking them sent fails after the server accepted them: %s', async (_what, prefix, sqlstate) => {
    const emails = [`${prefix}1@example.com`, `${prefix}2@example.com`, `${prefix}3@example.com`];
    const ids = await optInAll(prefix, emails);
    await failMarkingSent({ times: 1, sqlstate });
    try {
      const out = await sendAsWorker(ids);
      expect(out.map((o) => ('ok' in o ? o.ok.status : 'error'))).toEqual(['sent', 'sent', 'sent']);
      expect(out.map((o) => o.unrecorded)).toEqual([undefined, undefined, undefined]);
    } finally {
      await stopFailing();
    }
    expect(deliveredTo(emails)).toEqual(emails);
    expect(await statuses(ids)).toEqual(ids.map((id) => [id, 'sent']).sort());
  });

  it('leaves a touch it cannot mark sent in doubt (sending), says so in its outcome, and does not send it again at once', async () => {
    const emails = ['st1@example.com', 'st2@example.com', 'st3@example.com'];
    const ids = await optInAll('st', emails);
    await failMarkingSent({ sqlstate: 'P0001', onlyId: ids[1]! });
    let out: BatchSendOutcome[];
    try {
      out = await sendAsWorker(ids);
    } finally {
      await stopFailing();
    }
    expect(out.map((o) => ('ok' in o ? o.ok.status : 'error'))).toEqual(['sent', 'sent', 'sent']);
    expect(out.map((o) => o.unrecorded !== undefined)).toEqual([false, true, false]);
    expect(String((out[1]!.unrecorded as Error).message)).toContain('injected');
    expect(deliveredTo(emails)).toEqual(emails);
    expect(await statuses(ids)).toEqual([
      [ids[0], 'sent'],
      [ids[1], 'sending'],
      [ids[2], 'sent'],
    ].sort());
  });

  it('leaves a message cut off on its way (its SMTP thread died under it) sending, so that its retry goes out in doubt', async () => {
    const emails = ['cut@example.com', 'whole@example.com'];
    const ids = await optInAll('cut', emails);
    // What threaded-smtp-sender.ts says for the message a dying thread held.
    const dying: MailSender = {
      send: async (m) => {
        if (m.to === 'cut@example.com') throw new TransientSendError('the SMTP thread stopped (exit code 7) while sending to cut@example.com; the message may or may not have arrived', { mayHaveArrived: true });
        return mail.send(m);
      },
      close: async () => {},
      describe: () => 'a sender whose thread dies under cut@example.com',
    };
    const out = await sendTouches(f.deps, dying, ids, T0);
    expect(out.map((o) => ('ok' in o ? o.ok.status : (o.error as Error).constructor.name))).toEqual(['TransientSendError', 'sent']);
    expect(await statuses(ids)).toEqual([
      [ids[0], 'sending'],
      [ids[1], 'sent'],
    ].sort());
    // Why it waits, where an operator looks at the touch.
    expect((await f.store.db.selectFrom('touches').select('error').where('id', '=', ids[0]!).executeTakeFirstOrThrow()).error).toContain('may or may not have arrived');
    const retry = await sendTouches(f.deps, mail, [ids[0]!], T0);
    expect(retry.map((o) => ('ok' in o ? o.ok : o))).toEqual([{ status: 'sent', messageId: expect.stringContaining(ids[0]!), inDoubt: true }]);
    const row = await f.store.db.selectFrom('touches').select(['status', 'in_doubt']).where('id', '=', ids[0]!).executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'sent', in_doubt: true });
    expect((await f.store.db.selectFrom('touches').select('error').where('id', '=', ids[0]!).executeTakeFirstOrThrow()).error).toBeNull();
    expect(deliveredTo(emails)).toEqual(emails);
  });

  it('does the same for a message sent alone (a batch of one): left sending, and its retry goes out in doubt', async () => {
    const [id] = await optInAll('solo', ['solo-cut@example.com']);
    const dying: MailSender = {
      send: async () => {
        throw new TransientSendError('the SMTP thread stopped (exit code 7) while sending to solo-cut@example.com; the message may or may not have arrived', { mayHaveArrived: true });
      },
      close: async () => {},
      describe: () => 'a sender whose thread dies under every message',
    };
    const app = { deps: f.deps, scheduler: sweeperScheduler, log: createLogger('silent') };
    await expect(sendEmails(app, dying, [id!], T0)).rejects.toBeInstanceOf(TransientSendError);
    expect(await statuses([id!])).toEqual([[id, 'sending']]);
    expect((await f.store.db.selectFrom('touches').select('error').where('id', '=', id!).executeTakeFirstOrThrow()).error).toContain('may or may not have arrived');
    const retry = await sendEmails(app, mail, [id!], T0);
    expect(retry.map((o) => ('ok' in o ? o.ok : o))).toEqual([{ status: 'sent', messageId: expect.stringContaining(id!), inDoubt: true }]);
    expect(deliveredTo(['solo-cut@example.com'])).toEqual(['solo-cut@example.com']);
  });

  it('keeps the batch when recording a refused address fails: the accepted email is sent once and marked, the refused one left sending', async () => {
    const emails = ['rf1@example.com', 'gone-rf@example.com'];
    const ids = await optInAll('rf', emails);
    const goneId = (await f.store.db.selectFrom('touches').innerJoin('contacts', 'contacts.id', 'touches.contact_id').select('touches.id').where('contacts.email', '=', 'gone-rf@example.com').executeTakeFirstOrThrow()).id;
    await failMarkingSent({ sqlstate: 'P0001', onlyId: goneId, to: 'failed' });
    let out: BatchSendOutcome[];
    try {
      out = await sendAsWorker(ids);
    } finally {
      await stopFailing();
    }
    const byId = new Map(ids.map((id, i) => [id, out[i]!]));
    const gone = byId.get(goneId)!;
    expect('error' in gone && gone.unrecorded !== undefined).toBe(true);
    const ok = byId.get(ids.find((id) => id !== goneId)!)!;
    expect('ok' in ok ? ok.ok.status : 'error').toBe('sent');
    expect(deliveredTo(emails)).toEqual(['rf1@example.com']);
    expect(new Map(await statuses(ids) as [string, string][]).get(goneId)).toBe('sending');
    expect(new Map(await statuses(ids) as [string, string][]).get(ids.find((id) => id !== goneId)!)).toBe('sent');
  });
});
