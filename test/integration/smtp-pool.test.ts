import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailSender, OutgoingMail } from '../../src/templates/mail-sender.js';
import { createSmtpSender } from '../../src/templates/smtp-sender.js';
import type { TestSmtp } from '../support/smtp.js';
import { startTestSmtp } from '../support/smtp.js';

/** NURTURE_SMTP_MAX_CONNECTIONS and NURTURE_SMTP_RATE_PER_SECOND reach nodemailer's pool, against a real server. */
describe('SMTP pool settings', () => {
  let smtp: TestSmtp;
  let open = 0;
  let most = 0;
  const senders: MailSender[] = [];
  const mail = (i: number, subject = `m${i}`): OutgoingMail => ({ from: 'n@nurture.test', to: `p${i}@example.com`, subject, html: '<p>x</p>', text: 'x', messageId: `pool-${i}@nurture.test` });

  beforeAll(async () => {
    smtp = await startTestSmtp({
      server: {
        onConnect(_session, callback) {
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
    const s = createSmtpSender(smtp.url, { maxConnections: 2 });
    senders.push(s);
    await Promise.all(Array.from({ length: 12 }, (_, i) => s.send(mail(i))));
    expect(smtp.received).toHaveLength(12);
    expect(most).toBeLessThanOrEqual(2);
  });

  it('holds messages back to ratePerSecond rather than failing them', async () => {
    const s = createSmtpSender(smtp.url, { maxConnections: 1, ratePerSecond: 2 });
    senders.push(s);
    const started = Date.now();
    // Five messages at two a second cannot all be taken within the first two seconds.
    await Promise.all(Array.from({ length: 5 }, (_, i) => s.send(mail(100 + i, `rate-${i}`))));
    expect(smtp.received.filter((m) => m.subject.startsWith('rate-'))).toHaveLength(5);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
  });
});
