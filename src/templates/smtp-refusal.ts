/**
 * What a permanent SMTP refusal says about the address. Only a refusal of the recipient itself
 * (the mailbox does not exist, the domain takes no mail, the address is malformed) makes the
 * address a hard bounce that is suppressed for good. A refusal of this one message (too big,
 * its content, a policy or spam block that says more about the sender's reputation than about
 * the address) fails the email but leaves the address alone: suppressing good addresses on a
 * sender-side problem would silently end nurture for everyone behind one bad afternoon.
 *
 * The rule, in order:
 * 1. An enhanced status code (RFC 3463, `5.1.1`) decides when the reply has one: class 5 with
 *    subject 1 (addressing: `5.1.1` bad mailbox, `5.1.2` bad domain, `5.1.3` bad syntax,
 *    `5.1.6` moved, `5.1.10` null MX) or `5.2.1` (mailbox disabled) is the recipient; any other
 *    (`5.2.2` mailbox full, `5.3.4` too big, `5.7.x` policy or spam) is the message.
 * 2. Without one, the basic reply code at RCPT TO: 550 (mailbox unavailable), 551 (user not
 *    local) and 553 (mailbox name not allowed) are the recipient; 552 (storage exceeded) and 554
 *    (transaction failed) are the message. At any other stage (DATA, end of data) a bare 5xx is
 *    about the message: servers that refuse content answer 550 or 554 there.
 * 3. Anything below 500 is no permanent refusal at all.
 */
export type RefusalOf = 'recipient' | 'message' | 'none';

export interface SmtpReply {
  /** The basic reply code (`550`). */
  responseCode: number | undefined;
  /** The server's full reply text (`550 5.1.1 <ann@example.com>: user unknown`). */
  response: string | undefined;
  /** The command it answered, as nodemailer names it (`RCPT TO`, `DATA`, `MAIL FROM`). */
  command: string | undefined;
}

const RECIPIENT_BASIC_CODES: ReadonlySet<number> = new Set([550, 551, 553]);

/** `5.1.1` from a reply such as `550 5.1.1 <x>: user unknown` or `550-5.1.1 ...`; undefined when there is none. */
export function enhancedStatusOf(response: string | undefined): { klass: number; subject: number; detail: number } | undefined {
  const m = /^\s*\d{3}[ -]([245])\.(\d{1,3})\.(\d{1,3})\b/.exec(response ?? '');
  return m ? { klass: Number(m[1]), subject: Number(m[2]), detail: Number(m[3]) } : undefined;
}

export function refusalOf(reply: SmtpReply): RefusalOf {
  const code = reply.responseCode;
  if (code === undefined || code < 500 || code > 599) return 'none';
  const enhanced = enhancedStatusOf(reply.response);
  if (enhanced && enhanced.klass === 5) {
    return enhanced.subject === 1 || (enhanced.subject === 2 && enhanced.detail === 1) ? 'recipient' : 'message';
  }
  const atRecipient = /^RCPT/i.test(reply.command ?? '');
  return atRecipient && RECIPIENT_BASIC_CODES.has(code) ? 'recipient' : 'message';
}
