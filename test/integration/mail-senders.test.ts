import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { SMTPServerOptions } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentSendError, TransientSendError } from '../../src/templates/mail-sender.js';
import type { MailSender, OutgoingMail, TransportObservation } from '../../src/templates/mail-sender.js';
import { createOutboxSender, safeFileName } from '../../src/templates/outbox-sender.js';
import { createSmtpSender } from '../../src/templates/smtp-sender.js';
import { createThreadedSmtpSender } from '../../src/templates/threaded-smtp-sender.js';
import type { TestSmtp } from '../support/smtp.js';
import { startTestSmtp } from '../support/smtp.js';
import { freePort } from '../support/net.js';

/** A real SMTP server on a free local port, without TLS or authentication. */
function startServer(options: Partial<SMTPServerOptions> = {}): Promise<TestSmtp> {
  return startTestSmtp({ server: options });
}

function smtpError(message: string, responseCode: number): Error {
  return Object.assign(new Error(message), { responseCode });
}

/** Header fields of a raw message, unfolded, by lowercase name. */
function headersOf(raw: string): Map<string, string> {
  const head = raw.split(/\r?\n\r?\n/)[0] ?? '';
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

function mail(overrides: Partial<OutgoingMail> = {}): OutgoingMail {
  return {
    from: 'Nurture <hello@nurture.test>',
    to: 'ada@example.com',
    subject: 'Your guide & <tips> are ready',
    html: '<p>Hi Ada, here is <a href="https://example.com/guide">your guide</a>.</p>',
    text: 'Hi Ada, here is your guide: https://example.com/guide',
    messageId: 'enr-1-step-2@nurture.test',
    ...overrides,
  };
}

type MakeSender = (url: string, options?: { onTransport?: (o: TransportObservation) => void }) => MailSender;

// One contract, both ways of running it: what crosses the thread boundary must come back the same.
describe.each<[string, MakeSender]>([
  ['in the calling thread', (url, options) => createSmtpSender(url, options)],
  ['in two worker threads', (url, options) => createThreadedSmtpSender(url, { ...options, threads: 2 })],
])('SMTP sender %s', (_how, make) => {
  const senders: MailSender[] = [];
  const servers: TestSmtp[] = [];
  let good: TestSmtp;
  let rejecting: TestSmtp;
  let busy: TestSmtp;

  function sender(url: string): MailSender {
    const s = make(url);
    senders.push(s);
    return s;
  }

  beforeAll(async () => {
    good = await startServer();
    rejecting = await startServer({
      onRcptTo(address, _session, callback) {
        callback(smtpError(`<${address.address}>: Recipient address rejected: User unknown`, 550));
      },
    });
    busy = await startServer({
      onRcptTo(_address, _session, callback) {
        callback(smtpError('Greylisted, please try again later', 451));
      },
    });
    servers.push(good, rejecting, busy);
  });

  afterAll(async () => {
    for (const s of senders) await s.close();
    for (const s of servers) await s.close();
  });

  it('delivers the message with the exact Message-ID, subject and headers', async () => {
    const smtp = sender(good.url);
    const result = await smtp.send(
      mail({ headers: { 'List-Unsubscribe': '<https://example.com/u/1>' } }),
    );
    expect(result).toMatchObject({ messageId: 'enr-1-step-2@nurture.test', accepted: true });
    expect(result.response).toMatch(/^250/);

    expect(good.received).toHaveLength(1);
    const [message] = good.received;
    expect(message?.from).toBe('hello@nurture.test');
    expect(message?.recipients).toEqual(['ada@example.com']);
    const headers = headersOf(message?.raw ?? '');
    expect(headers.get('message-id')).toBe('<enr-1-step-2@nurture.test>');
    expect(headers.get('subject')).toBe('Your guide & <tips> are ready');
    expect(headers.get('list-unsubscribe')).toBe('<https://example.com/u/1>');
    expect(headers.get('content-type')).toMatch(/^multipart\/alternative/);
    expect(message?.raw).toContain('Content-Type: text/plain');
    expect(message?.raw).toContain('Content-Type: text/html');
  });

  it('reuses the pool for several messages', async () => {
    const smtp = sender(good.url);
    const before = good.received.length;
    await Promise.all([1, 2, 3].map((n) => smtp.send(mail({ messageId: `enr-${n}-pool@nurture.test` }))));
    const ids = good.received.slice(before).map((m) => headersOf(m.raw).get('message-id'));
    expect(ids.sort()).toEqual(['<enr-1-pool@nurture.test>', '<enr-2-pool@nurture.test>', '<enr-3-pool@nurture.test>']);
  });

  it('turns a 550 recipient rejection into a PermanentSendError', async () => {
    const err = await sender(rejecting.url).send(mail()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentSendError);
    const permanent = err as PermanentSendError;
    expect(permanent.code).toBe('SEND_PERMANENT');
    expect(permanent.responseCode).toBe(550);
    // The engine records the address as a hard bounce on this flag.
    expect(permanent.recipientRefused).toBe(true);
    expect(permanent.message).toContain('ada@example.com');
    expect(permanent.cause).toBeDefined();
    expect(rejecting.received).toHaveLength(0);
  });

  it('turns a 4xx answer into a TransientSendError', async () => {
    const err = await sender(busy.url).send(mail()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientSendError);
    expect((err as TransientSendError).responseCode).toBe(451);
  });

  it('turns a refused connection into a TransientSendError', async () => {
    const url = `smtp://127.0.0.1:${await freePort()}`;
    const err = await sender(url).send(mail()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientSendError);
    const transient = err as TransientSendError;
    expect(transient.code).toBe('SEND_TRANSIENT');
    expect(transient.responseCode).toBeUndefined();
    expect(transient.cause).toBeDefined();
    expect(transient.message).toContain('is the SMTP server running');
  });

  it('refuses a malformed messageId before connecting', async () => {
    const before = good.received.length;
    for (const messageId of ['<x@y>', 'no-at-sign', 'has space@x']) {
      await expect(sender(good.url).send(mail({ messageId }))).rejects.toBeInstanceOf(PermanentSendError);
    }
    expect(good.received).toHaveLength(before);
  });

  describe('tells whether the server can be reached', () => {
    function observed(url: string): { smtp: MailSender; seen: TransportObservation[] } {
      const seen: TransportObservation[] = [];
      const smtp = make(url, { onTransport: (o) => seen.push(o) });
      senders.push(smtp);
      return { smtp, seen };
    }

    it('reports a port with nothing listening as down (ECONNREFUSED), by send and by probe', async () => {
      const { smtp, seen } = observed(`smtp://127.0.0.1:${await freePort()}`);
      await expect(smtp.send(mail())).rejects.toBeInstanceOf(TransientSendError);
      expect(await smtp.probe!()).toMatchObject({ reachable: false });
      expect(seen).toHaveLength(2);
      for (const o of seen) expect(o).toEqual({ reachable: false, reason: expect.stringContaining('ECONNREFUSED') });
    });

    it('reports a server that accepts but never greets as down (greeting timeout)', async () => {
      const silent = net.createServer(() => {});
      const sockets = new Set<net.Socket>();
      silent.on('connection', (s) => sockets.add(s));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      try {
        const port = (silent.address() as net.AddressInfo).port;
        const { smtp, seen } = observed(`smtp://127.0.0.1:${port}?greetingTimeout=300&connectionTimeout=2000`);
        const err = await smtp.send(mail()).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(TransientSendError);
        expect(seen).toEqual([{ reachable: false, reason: expect.stringMatching(/greeting/i) }]);
      } finally {
        for (const s of sockets) s.destroy();
        await new Promise<void>((resolve) => silent.close(() => resolve()));
      }
    });

    it('reports a host that does not resolve as down', async () => {
      const { smtp, seen } = observed('smtp://no-such-host.invalid:2525?connectionTimeout=3000');
      await expect(smtp.send(mail())).rejects.toBeInstanceOf(TransientSendError);
      expect(seen).toEqual([{ reachable: false, reason: expect.stringMatching(/ENOTFOUND|EAI_AGAIN|DNS/) }]);
    });

    it('reports a server that answers, even with a refusal, as up', async () => {
      const { smtp, seen } = observed(rejecting.url);
      await expect(smtp.send(mail())).rejects.toBeInstanceOf(PermanentSendError);
      const busyOne = observed(busy.url);
      await expect(busyOne.smtp.send(mail())).rejects.toBeInstanceOf(TransientSendError);
      expect([...seen, ...busyOne.seen]).toEqual([{ reachable: true }, { reachable: true }]);
    });

    it('follows the real server as it stops and starts again on the same port', async () => {
      // A short grace period: a stopping server then tells idle pooled connections 421 and closes them.
      const server = await startTestSmtp({ server: { closeTimeout: 200 } });
      const port = Number(new URL(server.url).port);
      const { smtp, seen } = observed(server.url);
      let restarted: TestSmtp | undefined;
      try {
        await smtp.send(mail({ messageId: 'before@nurture.test' }));
        expect(await smtp.probe!()).toEqual({ reachable: true });
        await server.close();
        await expect(smtp.send(mail({ messageId: 'during@nurture.test' }))).rejects.toBeInstanceOf(TransientSendError);
        expect(await smtp.probe!()).toMatchObject({ reachable: false });
        restarted = await startTestSmtp({ port, server: { closeTimeout: 200 } });
        expect(await smtp.probe!()).toEqual({ reachable: true });
        await smtp.send(mail({ messageId: 'after@nurture.test' }));
        expect(restarted.received.map((m) => m.messageId)).toEqual(['after@nurture.test']);
        expect(seen.map((o) => o.reachable)).toEqual([true, true, false, false, true, true]);
      } finally {
        await smtp.close();
        await restarted?.close();
      }
    });
  });

  it('describes its server without the password', () => {
    const described = sender('smtp://mailer:s3cret@127.0.0.1:2525').describe();
    expect(described).toBe('SMTP smtp://mailer@127.0.0.1:2525');
  });
});

describe('outbox sender', () => {
  let dir: string;
  const senders: MailSender[] = [];
  const day = new Date('2025-03-04T10:00:00Z');

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'nurture-outbox-'));
  });

  afterAll(async () => {
    for (const s of senders) await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  function outbox(): MailSender {
    const s = createOutboxSender(dir, { now: () => day });
    senders.push(s);
    return s;
  }

  it('writes a parseable .eml with the Message-ID in a folder per day', async () => {
    const result = await outbox().send(mail({ headers: { 'X-Nurture-Step': 'welcome/2' } }));
    const file = path.join(dir, '2025-03-04', 'enr-1-step-2@nurture.test.eml');
    expect(result).toEqual({ messageId: 'enr-1-step-2@nurture.test', accepted: true, response: `written to ${file}` });

    const raw = await readFile(file, 'utf8');
    expect(raw).toContain('\r\n');
    expect(raw).not.toMatch(/[^\r]\n/);
    const headers = headersOf(raw);
    expect(headers.get('message-id')).toBe('<enr-1-step-2@nurture.test>');
    expect(headers.get('subject')).toBe('Your guide & <tips> are ready');
    expect(headers.get('from')).toBe('Nurture <hello@nurture.test>');
    expect(headers.get('to')).toBe('ada@example.com');
    expect(headers.get('x-nurture-step')).toBe('welcome/2');
    expect(headers.get('mime-version')).toBe('1.0');
    expect(raw).toContain('Content-Type: text/html');
  });

  it('overwrites the file when the same messageId is written again, leaving no temporary file', async () => {
    const sender = outbox();
    await sender.send(mail({ messageId: 'again@nurture.test', subject: 'First' }));
    await sender.send(mail({ messageId: 'again@nurture.test', subject: 'Second' }));
    const files = (await readdir(path.join(dir, '2025-03-04'))).filter((f) => f.startsWith('again') || f.startsWith('.'));
    expect(files).toEqual(['again@nurture.test.eml']);
    const raw = await readFile(path.join(dir, '2025-03-04', 'again@nurture.test.eml'), 'utf8');
    expect(headersOf(raw).get('subject')).toBe('Second');
  });

  it('keeps file names inside the folder and distinct', async () => {
    expect(safeFileName('a.b-c_d+e@x.test')).toBe('a.b-c_d+e@x.test');
    const weird = safeFileName('../../etc/passwd@x');
    expect(weird).not.toContain('/');
    expect(weird).not.toMatch(/^\./);
    expect(safeFileName('a/b@x')).not.toBe(safeFileName('a_b@x'));
    const result = await outbox().send(mail({ messageId: '../../escape@x' }));
    expect(path.dirname(result.response.replace(/^written to /, ''))).toBe(path.join(dir, '2025-03-04'));
  });

  it('reports a folder it cannot write as down, and a written message as up', async () => {
    const seen: TransportObservation[] = [];
    const blocked = path.join(dir, 'not-a-folder');
    await writeFile(blocked, 'a file where the outbox should be');
    await chmod(blocked, 0o444);
    const bad = createOutboxSender(blocked, { now: () => day, onTransport: (o) => seen.push(o) });
    const good = createOutboxSender(dir, { now: () => day, onTransport: (o) => seen.push(o) });
    senders.push(bad, good);
    await expect(bad.send(mail())).rejects.toBeInstanceOf(TransientSendError);
    expect(await bad.probe!()).toMatchObject({ reachable: false });
    await good.send(mail());
    expect(await good.probe!()).toEqual({ reachable: true });
    expect(seen).toEqual([
      { reachable: false, reason: expect.stringMatching(/ENOTDIR|EEXIST/) },
      { reachable: false, reason: expect.stringMatching(/ENOTDIR|EEXIST/) },
      { reachable: true },
      { reachable: true },
    ]);
  });

  it('describes itself by its folder', () => {
    expect(outbox().describe()).toBe(`outbox ${dir}`);
  });
});
