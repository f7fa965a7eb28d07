/**
 * MailSender adapter for an SMTP server whose work runs in worker threads (NURTURE_SMTP_THREADS):
 * each thread (smtp-thread.ts) holds its share of the connections and of the rate limit in a
 * nodemailer pool of its own. Composing MIME, DKIM signing (about 1.3 ms of CPU a message with a
 * 2048-bit key, measured) and the many small socket writes of a message then no longer take the
 * event loop that applies events and wakes enrollments, and can use another core.
 *
 * The contract is smtp-sender.ts's: the same typed errors, the same transport observations.
 */
import { Worker } from 'node:worker_threads';
import { TransientSendError } from './mail-sender.js';
import type { MailSender, OutgoingMail, SendResult, TransportObservation, TransportOptions } from './mail-sender.js';
import { DEFAULT_MAX_CONNECTIONS, describeSmtpUrl } from './smtp-sender.js';
import type { DkimKey, SmtpPoolOptions } from './smtp-sender.js';
import { errorFromWire, shares } from './smtp-thread-protocol.js';
import type { FromThread, SmtpThreadData, ToThread } from './smtp-thread-protocol.js';

export interface ThreadedSmtpOptions extends TransportOptions, SmtpPoolOptions {
  dkim?: DkimKey | undefined;
  /** Threads wanted; never more than connections (or messages a second), so each has at least one. */
  threads: number;
  /** The module each thread runs; tests give one that can be made to die. */
  threadEntry?: URL;
}

/** How long a closing thread may take to end its connections before it is stopped. */
const CLOSE_GRACE_MS = 10_000;

const FROM_SOURCE = import.meta.url.endsWith('.ts');
const DEFAULT_ENTRY = new URL(FROM_SOURCE ? './smtp-thread.ts' : './smtp-thread.js', import.meta.url);

interface Waiting {
  resolve(value: never): void;
  reject(err: Error): void;
  /** The recipient, for the error when the thread dies under the message. */
  to: string | undefined;
}

interface SmtpThread {
  worker: Worker;
  waiting: Map<number, Waiting>;
  exited: Promise<void>;
}

/**
 * Run from the TypeScript sources (tests, `npm run bench`), a thread registers tsx's loader
 * before it imports its module: a worker thread started with `--import tsx` still loads a `.ts`
 * entry before the hooks are in place (Node 20).
 */
function newThread(entry: URL, workerData: SmtpThreadData): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData });
  const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(boot, { eval: true, workerData });
}

export function createThreadedSmtpSender(smtpUrl: string, options: ThreadedSmtpOptions): MailSender {
  const where = describeSmtpUrl(smtpUrl);
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const count = Math.max(1, Math.min(options.threads, maxConnections, options.ratePerSecond ?? Infinity));
  const connections = shares(maxConnections, count);
  const rates = options.ratePerSecond === undefined ? undefined : shares(options.ratePerSecond, count);
  const entry = options.threadEntry ?? DEFAULT_ENTRY;
  // Slot i always gets share i, also when its thread is started again after dying.
  const slots: (SmtpThread | undefined)[] = Array.from({ length: count }, () => undefined);
  let nextId = 0;
  let closed = false;

  const start = (slot: number): SmtpThread => {
    const data: SmtpThreadData = { smtpUrl, maxConnections: connections[slot]!, ratePerSecond: rates?.[slot], dkim: options.dkim };
    const worker = newThread(entry, data);
    // Idle threads do not hold the process open; a message in flight does (see `track`).
    worker.unref();
    const waiting = new Map<number, Waiting>();
    let failure: Error | undefined;
    const exited = new Promise<void>((resolve) => {
      worker.once('exit', (code) => {
        if (slots[slot]?.worker === worker) slots[slot] = undefined;
        const why = closed ? 'was closed' : `stopped (exit code ${code}${failure ? `: ${failure.message}` : ''})`;
        for (const w of waiting.values()) {
          const about = w.to === undefined ? '' : ` while sending to ${w.to}; the message may or may not have arrived, and is tried again`;
          w.reject(new TransientSendError(`the SMTP thread for ${where} ${why}${about}`, { cause: failure }));
        }
        waiting.clear();
        resolve();
      });
    });
    worker.on('error', (err) => (failure = err));
    worker.on('message', (m: FromThread) => {
      if (m.kind === 'transport') {
        options.onTransport?.(m.seen);
        return;
      }
      const w = waiting.get(m.id);
      if (!w) return;
      waiting.delete(m.id);
      if (waiting.size === 0) worker.unref();
      if (m.kind === 'failed') w.reject(errorFromWire(m.error));
      else w.resolve((m.kind === 'sent' ? m.result : m.seen) as never);
    });
    return { worker, waiting, exited };
  };

  /** The thread with the fewest messages in flight; a dead one is started again. */
  const pick = (): SmtpThread => {
    let best: SmtpThread | undefined;
    for (let i = 0; i < slots.length; i++) {
      const t = (slots[i] ??= start(i));
      if (!best || t.waiting.size < best.waiting.size) best = t;
    }
    return best!;
  };

  const ask = <T>(request: (id: number) => ToThread, to: string | undefined): Promise<T> => {
    const t = pick();
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      if (t.waiting.size === 0) t.worker.ref();
      t.waiting.set(id, { resolve: resolve as (v: never) => void, reject, to });
      t.worker.postMessage(request(id));
    });
  };

  // Started now, so a thread that cannot start says so before the first message is due.
  for (let i = 0; i < slots.length; i++) slots[i] = start(i);

  return {
    async send(mail: OutgoingMail): Promise<SendResult> {
      if (closed) throw new TransientSendError(`the SMTP sender for ${where} is closed`);
      return ask<SendResult>((id) => ({ kind: 'send', id, mail }), mail.to);
    },

    async probe(): Promise<TransportObservation> {
      if (closed) return { reachable: false, reason: `the SMTP sender for ${where} is closed` };
      return ask<TransportObservation>((id) => ({ kind: 'probe', id }), undefined);
    },

    async close(): Promise<void> {
      closed = true;
      await Promise.all(
        slots.map(async (t) => {
          if (!t) return;
          t.worker.ref();
          t.worker.postMessage({ kind: 'close' } satisfies ToThread);
          const grace = setTimeout(() => void t.worker.terminate(), CLOSE_GRACE_MS);
          await t.exited;
          clearTimeout(grace);
        }),
      );
    },

    describe(): string {
      return where;
    },
  };
}
