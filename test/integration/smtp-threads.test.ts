import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransientSendError } from '../../src/templates/mail-sender.js';
import type { StoppedThread } from '../../src/templates/threaded-smtp-sender.js';
import type { MailSender, OutgoingMail } from '../../src/templates/mail-sender.js';
import { createThreadedSmtpSender } from '../../src/templates/threaded-smtp-sender.js';
import type { TestSmtp } from '../support/smtp.js';
import { startTestSmtp } from '../support/smtp.js';

const DYING_THREAD = new URL('../support/dying-smtp-thread.ts', import.meta.url);
const BROKEN_THREAD = new URL('../support/broken-smtp-thread.ts', import.meta.url);

/**
 * What only the threaded sender does; the contract it shares with the in-thread one is in
 * mail-senders.test.ts, and the pool settings it shares between its threads in smtp-pool.test.ts.
 */
describe('SMTP sender in worker threads', () => {
  let smtp: TestSmtp;
  const senders: MailSender[] = [];
  const mail = (i: number, subject = `m${i}`): OutgoingMail => ({ from: 'n@nurture.test', to: `p${i}@example.com`, subject, html: '<p>x</p>', text: 'x', messageId: `thr-${i}-${subject}@nurture.test` });
  const track = (s: MailSender): MailSender => (senders.push(s), s);

  beforeAll(async () => {
    smtp = await startTestSmtp();
  });
  afterAll(async () => {
    for (const s of senders) await s.close();
    await smtp.close();
  });

  it('fails the message a dying thread held as transient and in doubt, tells once, and sends the next through a new thread', async () => {
    const stopped: StoppedThread[] = [];
    const s = createThreadedSmtpSender(smtp.url, { maxConnections: 1, threads: 1, threadEntry: DYING_THREAD, onThreadExit: (t) => stopped.push(t) });
    await s.send(mail(300, 'before'));
    const err = await s.send(mail(301, 'die')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientSendError);
    expect((err as TransientSendError).mayHaveArrived).toBe(true);
    expect((err as Error).message).toMatch(/^the SMTP thread for SMTP smtp:\/\/127\.0\.0\.1:\d+ stopped \(exit code 7\) while sending to p301@example\.com; the message may or may not have arrived$/);
    await s.send(mail(302, 'after'));
    expect(smtp.received.filter((m) => ['before', 'die', 'after'].includes(m.subject)).map((m) => m.subject)).toEqual(['before', 'after']);
    await s.close();
    // Told once, for the death; closing is not a death.
    expect(stopped).toEqual([{ exitCode: 7, reason: undefined, started: true, held: 1, closing: false }]);
  });

  it('tells of a thread that dies while closing, as a death and not as a close', async () => {
    const stopped: StoppedThread[] = [];
    const s = createThreadedSmtpSender(smtp.url, { maxConnections: 1, threads: 1, threadEntry: DYING_THREAD, onThreadExit: (t) => stopped.push(t) });
    await s.send(mail(320, 'die-at-close'));
    await s.close();
    expect(stopped).toEqual([{ exitCode: 8, reason: undefined, started: true, held: 0, closing: true }]);
  });

  it('settles what a dying thread held even when the one told of the death throws', async () => {
    const s = track(
      createThreadedSmtpSender(smtp.url, {
        maxConnections: 1,
        threads: 1,
        threadEntry: DYING_THREAD,
        onThreadExit: () => {
          throw new Error('the logger broke');
        },
      }),
    );
    await expect(s.send(mail(330, 'die'))).rejects.toBeInstanceOf(TransientSendError);
    await s.send(mail(331, 'after-throw'));
  });

  it('answers a probe whose thread dies as not reachable, rather than leaving it unanswered or throwing', async () => {
    const seen: unknown[] = [];
    const s = track(createThreadedSmtpSender(smtp.url, { maxConnections: 1, threads: 1, threadEntry: DYING_THREAD, onTransport: (o) => seen.push(o) }));
    expect(await s.probe!()).toEqual({ reachable: false, reason: expect.stringMatching(/^the SMTP thread for SMTP smtp:\/\/127\.0\.0\.1:\d+ stopped \(exit code 9\)$/) });
    // A dead thread says nothing about the server: the transport's health is not touched.
    expect(seen).toEqual([]);
  });

  it('says a thread that cannot start could not, with why, and that nothing was sent', async () => {
    const stopped: StoppedThread[] = [];
    const s = track(createThreadedSmtpSender(smtp.url, { maxConnections: 1, threads: 1, threadEntry: BROKEN_THREAD, onThreadExit: (t) => stopped.push(t) }));
    const err = await s.send(mail(350, 'never')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientSendError);
    expect((err as TransientSendError).mayHaveArrived).toBe(false);
    expect((err as Error).message).toMatch(/could not start \(exit code 1: broken on purpose\); nothing was sent to p350@example\.com$/);
    expect(stopped[0]).toEqual({ exitCode: 1, reason: 'broken on purpose', started: false, held: 1, closing: false });
  });

  it('lets the messages under way at close finish, and reports them as the server answered', async () => {
    const slow = await startTestSmtp({
      server: {
        onData(stream, _session, callback) {
          stream.resume();
          stream.on('end', () => setTimeout(() => callback(), 500));
        },
      },
    });
    try {
      const stopped: StoppedThread[] = [];
      const s = createThreadedSmtpSender(slow.url, { maxConnections: 2, threads: 2, onThreadExit: (t) => stopped.push(t) });
      // One message per thread first, so each has its connection open: then the next two are in
      // the middle of their conversation when close comes (a message still waiting for a
      // connection is refused as "pool was closed", in one thread as in two).
      await Promise.all([1, 2].map((i) => s.send(mail(510 + i, 'warm'))));
      const underWay = [1, 2].map((i) => s.send(mail(500 + i, 'slow')));
      await new Promise((r) => setTimeout(r, 200));
      await s.close();
      const settled = await Promise.allSettled(underWay);
      expect(settled.map((r) => (r.status === 'fulfilled' ? r.value.accepted : String(r.reason)))).toEqual([true, true]);
      expect(stopped).toEqual([]);
    } finally {
      await slow.close();
    }
  });

  it('refuses to send once closed, and its threads end by themselves (none has to be stopped)', async () => {
    const stopped: StoppedThread[] = [];
    const s = createThreadedSmtpSender(smtp.url, { maxConnections: 2, threads: 2, closeGraceMs: 3_000, onThreadExit: (t) => stopped.push(t) });
    await s.send(mail(400, 'open'));
    await s.close();
    expect(stopped).toEqual([]);
    await expect(s.send(mail(401, 'closed'))).rejects.toThrow(/the SMTP sender for SMTP smtp:\/\/127\.0\.0\.1:\d+ is closed/);
    expect(await s.probe!()).toEqual({ reachable: false, reason: expect.stringContaining('is closed') });
    expect(smtp.received.some((m) => m.subject === 'closed')).toBe(false);
  });
});
