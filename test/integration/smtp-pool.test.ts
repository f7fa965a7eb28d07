import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailSender, OutgoingMail } from '../../src/templates/mail-sender.js';
import { createSmtpSender } from '../../src/templates/smtp-sender.js';
import type { SmtpPoolOptions } from '../../src/templates/smtp-sender.js';
import { createThreadedSmtpSender } from '../../src/templates/threaded-smtp-sender.js';
import type { TestSmtp } from '../support/smtp.js';
import { startTestSmtp } from '../support/smtp.js';

type MakeSender = (url: string, pool: SmtpPoolOptions) => MailSender;

/**
 * NURTURE_SMTP_MAX_CONNECTIONS and NURTURE_SMTP_RATE_PER_SECOND reach nodemailer's pool, against
 * a real server; in threads, they are the process's, shared between its threads, not each thread's.
 */
describe.each<[string, MakeSender]>([
  ['in the calling thread', (url, pool) => createSmtpSender(url, pool)],
  ['in two worker threads', (url, pool) => createThreadedSmtpSender(url, { ...pool, threads: 2 })],
])('SMTP pool settings, sending %s', (how, make) => {
  const threaded = how.includes('threads');
  let smtp: TestSmtp;
  let open = 0;
  let most = 0;
  let connects = 0;
  const senders: MailSender[] = [];
  const mail = (i: number, subject = `m${i}`): OutgoingMail => ({ from: 'n@nurture.test', to: `p${i}@example.com`, subject, html: '<p>x</p>', text: 'x', messageId: `pool-${i}@nurture.test` });
  const sender = (pool: SmtpPoolOptions): MailSender => {
    const s = make(smtp.url, pool);
    senders.push(s);
    return s;
  };

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

  it('opens at most maxConnections connections however many messages are in flight', async () => {
    // Three over two threads is two and one: each thread's pool holds its share only.
    const s = sender({ maxConnections: threaded ? 3 : 2 });
    await Promise.all(Array.from({ length: 40 }, (_, i) => s.send(mail(i))));
    expect(smtp.received).toHaveLength(40);
    expect(most).toBeLessThanOrEqual(threaded ? 3 : 2);
    expect(connects).toBeLessThanOrEqual(threaded ? 3 : 2);
  });

  it('holds messages back to ratePerSecond rather than failing them', async () => {
    // One connection per pool: nodemailer's limit is exact for one connection (two that free
    // up at once may both start a message). Over two threads, each gets one a second.
    const s = sender({ maxConnections: threaded ? 2 : 1, ratePerSecond: 2 });
    const started = Date.now();
    // Five messages at two a second cannot all be taken within the first two seconds.
    await Promise.all(Array.from({ length: 5 }, (_, i) => s.send(mail(100 + i, `rate-${i}`))));
    expect(smtp.received.filter((m) => m.subject.startsWith('rate-'))).toHaveLength(5);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
  });
});
