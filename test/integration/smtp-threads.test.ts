import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransientSendError } from '../../src/templates/mail-sender.js';
import type { MailSender, OutgoingMail } from '../../src/templates/mail-sender.js';
import { createThreadedSmtpSender } from '../../src/templates/threaded-smtp-sender.js';
import type { TestSmtp } from '../support/smtp.js';
import { startTestSmtp } from '../support/smtp.js';

const DYING_THREAD = new URL('../support/dying-smtp-thread.ts', import.meta.url);

/** What only the threaded sender does; the contract it shares with the in-thread one is in mail-senders.test.ts. */
describe('SMTP sender in worker threads', () => {
  let smtp: TestSmtp;
  let open = 0;
  let most = 0;
  let connects = 0;
  const senders: MailSender[] = [];
  const mail = (i: number, subject = `m${i}`): OutgoingMail => ({ from: 'n@nurture.test', to: `p${i}@example.com`, subject, html: '<p>x</p>', text: 'x', messageId: `thr-${i}-${subject}@nurture.test` });
  const track = (s: MailSender): MailSender => (senders.push(s), s);

  beforeAll(async () => {
    smtp = await startTestSmtp({
      server: {
        onConnect(_session, callback) {
          connects += 1;
          open += 1;
          most = Math.max(most, open);
          callback();
        },
        onClose() {
          open -= 1;
        },
      },
    });
  });
  afterAll(async () => {
    for (const s of senders) await s.close();
    await smtp.close();
  });

  it('shares NURTURE_SMTP_MAX_CONNECTIONS between its threads rather than giving each thread as many', async () => {
    connects = 0;
    most = 0;
    const s = track(createThreadedSmtpSender(smtp.url, { maxConnections: 3, threads: 2 }));
    await Promise.all(Array.from({ length: 40 }, (_, i) => s.send(mail(i))));
    expect(smtp.received.filter((m) => m.messageId.startsWith('thr-'))).toHaveLength(40);
    expect(most).toBeLessThanOrEqual(3);
    expect(connects).toBeLessThanOrEqual(3);
  });

  it('shares the rate limit too: five messages at two a second still take two seconds over two threads', async () => {
    // One connection a thread: nodemailer's limit is exact for one connection (two that free up at
    // once may both start a message), as in smtp-pool.test.ts.
    const s = track(createThreadedSmtpSender(smtp.url, { maxConnections: 2, ratePerSecond: 2, threads: 2 }));
    const started = Date.now();
    await Promise.all(Array.from({ length: 5 }, (_, i) => s.send(mail(200 + i, 'rate'))));
    expect(smtp.received.filter((m) => m.subject === 'rate')).toHaveLength(5);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
  });

  it('fails the message a dying thread held as transient, saying it may have arrived, and sends the next through a new thread', async () => {
    const s = track(createThreadedSmtpSender(smtp.url, { maxConnections: 1, threads: 1, threadEntry: DYING_THREAD }));
    await s.send(mail(300, 'before'));
    const err = await s.send(mail(301, 'die')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientSendError);
    expect((err as Error).message).toMatch(/^the SMTP thread for SMTP smtp:\/\/127\.0\.0\.1:\d+ stopped \(exit code 7\) while sending to p301@example\.com; the message may or may not have arrived/);
    await s.send(mail(302, 'after'));
    expect(smtp.received.filter((m) => ['before', 'die', 'after'].includes(m.subject)).map((m) => m.subject)).toEqual(['before', 'after']);
  });

  it('refuses to send once closed, and its threads end', async () => {
    const s = createThreadedSmtpSender(smtp.url, { maxConnections: 2, threads: 2 });
    await s.send(mail(400, 'open'));
    await s.close();
    await expect(s.send(mail(401, 'closed'))).rejects.toThrow(/the SMTP sender for SMTP smtp:\/\/127\.0\.0\.1:\d+ is closed/);
    expect(await s.probe!()).toEqual({ reachable: false, reason: expect.stringContaining('is closed') });
    expect(smtp.received.some((m) => m.subject === 'closed')).toBe(false);
  });
});
