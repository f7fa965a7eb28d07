import { SMTPServer } from 'smtp-server';
import type { SMTPServerOptions } from 'smtp-server';

export interface ReceivedMail {
  messageId: string;
  /** Envelope sender and recipients. */
  from: string;
  recipients: string[];
  /** The recipients joined by commas, for the common one-recipient case. */
  to: string;
  subject: string;
  raw: string;
}

export interface TestSmtp {
  url: string;
  received: ReceivedMail[];
  close(): Promise<void>;
}

function header(raw: string, name: string): string {
  const m = new RegExp(`^${name}:[ \\t]*(.*(?:\\r?\\n[ \\t].*)*)`, 'im').exec(raw);
  return m ? m[1]!.replace(/\r?\n[ \t]+/g, ' ').trim() : '';
}

/**
 * A real SMTP server on a free port that keeps every message it receives. With `holdNth`, the
 * nth message is kept but never answered: the sender cannot know it arrived, which is exactly the
 * send a crash leaves in doubt.
 */
export async function startTestSmtp(opts: { holdNth?: number; server?: Partial<SMTPServerOptions>; port?: number } = {}): Promise<TestSmtp> {
  const received: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const recipients = session.envelope.rcptTo.map((r) => r.address);
        received.push({
          messageId: header(raw, 'Message-ID').replace(/^<|>$/g, ''),
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          recipients,
          to: recipients.join(','),
          subject: header(raw, 'Subject'),
          raw,
        });
        if (received.length !== opts.holdNth) callback();
      });
    },
    ...opts.server,
  });
  // A client killed mid-conversation (the crash tests do that on purpose) resets its connection:
  // that is the client's problem, not the server's, and must not surface as an uncaught error.
  server.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') throw err;
  });
  // `port`: the same port again, to stand for a mail server that was restarted.
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const port = (server.server.address() as { port: number }).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
