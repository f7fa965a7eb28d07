/**
 * MailSender adapter for an SMTP server whose work runs in worker threads (NURTURE_SMTP_THREADS):
 * each thread (smtp-thread.ts) holds its share of the connections and of the rate limit in a
 * nodemailer pool of its own. Composing MIME, DKIM signing and the many small socket writes of a
 * message then no longer take the event loop that applies events and wakes enrollments, and can
 * use another core.
 *
 * The contract is smtp-sender.ts's: the same typed errors, the same transport observations.
 */
import { Worker } from 'node:worker_threads';
import { InternalError } from '../errors.js';
import { TransientSendError } from './mail-sender.js';
import type { MailSender, OutgoingMail, SendResult, TransportObservation, TransportOptions } from './mail-sender.js';
import { leastLoaded, shares } from './pool-shares.js';
import { DEFAULT_MAX_CONNECTIONS, describeSmtpUrl } from './smtp-sender.js';
import type { DkimKey, SmtpPoolOptions } from './smtp-sender.js';
import { errorFromWire } from './smtp-thread-protocol.js';
import type { FromThread, SmtpThreadData, ToThread } from './smtp-thread-protocol.js';

/** A thread that stopped other than by ending when closed: before its pool was built (`started: false`), while running, or stopped by close's grace timer. */
export interface StoppedThread {
  exitCode: number;
  reason: string | undefined;
  started: boolean;
  /** Messages it held (not probes); they fail as transient. */
  held: number;
  /** It stopped while the sender was closing: no new thread follows. */
  closing: boolean;
}

export interface ThreadedSmtpOptions extends TransportOptions, SmtpPoolOptions {
  dkim?: DkimKey | undefined;
  /** Threads wanted; never more than connections (or messages a second), so each has at least one. */
  threads: number;
  /** The module each thread runs; tests give one that can be made to die. */
  threadEntry?: URL;
  /** Told once per thread that stops other than by ending when closed. */
  onThreadExit?: (stopped: StoppedThread) => void;
  /** How long a closing thread may take to finish its messages and end its connections before it is stopped. */
  closeGraceMs?: number;
}

const FROM_SOURCE = import.meta.url.endsWith('.ts');
const DEFAULT_ENTRY = new URL(FROM_SOURCE ? './smtp-thread.ts' : './smtp-thread.js', import.meta.url);

type Waiting =
  | { kind: 'send'; to: string; resolve(r: SendResult): void; reject(err: Error): void }
  | { kind: 'probe'; resolve(seen: TransportObservation): void };

interface SmtpThread {
  worker: Worker;
  waiting: Map<number, Waiting>;
  /** Threads are loaded in proportion to this: its share of the rate when one is set (that is what binds), else of the connections. */
  weight: number;
  /** It said its pool is built. */
  started: boolean;
  /** Stopped by close's grace timer. */
  terminated: boolean;
  exited: Promise<void>;
}

/**
 * Run from the TypeScript sources (tests, `npm run bench`), a thread registers tsx's loader
 * before it imports its module: a worker thread started with `--import tsx` still loads a `.ts`
 * entry before the hooks are in place (Node 20). tsx is found from here, not from the working
 * directory the eval'd code would resolve it from.
 */
function newThread(entry: URL, workerData: SmtpThreadData): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(boot, { eval: true, workerData });
}

/** What a thread held when it stopped: probes answer not reachable; messages fail, in doubt once its pool had started. */
function settleLost(waiting: Map<number, Waiting>, stopped: string, started: boolean, cause: Error | undefined): void {
  for (const w of waiting.values()) {
    if (w.kind === 'probe') w.resolve({ reachable: false, reason: stopped });
    else if (started) w.reject(new TransientSendError(`${stopped} while sending to ${w.to}; the message may or may not have arrived`, { cause, mayHaveArrived: true }));
    else w.reject(new TransientSendError(`${stopped}; nothing was sent to ${w.to}`, { cause }));
  }
  waiting.clear();
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
  const closeGraceMs = options.closeGraceMs ?? 10_000;
  let nextId = 0;
  let closed = false;
  let closing: Promise<void> | undefined;

  const start = (slot: number): SmtpThread => {
    const data: SmtpThreadData = { smtpUrl, maxConnections: connections[slot]!, ratePerSecond: rates?.[slot], dkim: options.dkim };
    const worker = newThread(entry, data);
    // Idle threads do not hold the process open; a message in flight does (see `ask`).
    worker.unref();
    const waiting = new Map<number, Waiting>();
    let failure: Error | undefined;
    const t: SmtpThread = { worker, waiting, weight: rates?.[slot] ?? connections[slot]!, started: false, terminated: false, exited: Promise.resolve() };
    t.exited = new Promise<void>((resolve) => {
      worker.once('exit', (code) => {
        if (slots[slot]?.worker === worker) slots[slot] = undefined;
        const reason = failure?.message ?? (t.terminated ? `it did not end within ${closeGraceMs} ms of close, and was stopped` : undefined);
        // Only a thread that ended by itself after close stopped as asked.
        const asked = closed && code === 0 && !t.terminated;
        const how = `exit code ${code}${reason ? `: ${reason}` : ''}`;
        const why = asked ? 'was closed' : t.started ? `stopped (${how})` : `could not start (${how})`;
        const held = [...waiting.values()].filter((w) => w.kind === 'send').length;
        // Settled before anyone is told, so nothing an observer does can leave a promise hanging.
        settleLost(waiting, `the SMTP thread for ${where} ${why}`, t.started, failure);
        resolve();
        if (asked) return;
        try {
          options.onThreadExit?.({ exitCode: code, reason, started: t.started, held, closing: closed });
        } catch {
          // An observer that fails must not stop the sender; what it was told is already settled.
        }
      });
    });
    worker.on('error', (err) => (failure = err));
    worker.on('message', (m: FromThread) => {
      if (m.kind === 'ready') {
        t.started = true;
        return;
      }
      if (m.kind === 'transport') {
        options.onTransport?.(m.seen);
        return;
      }
      const w = waiting.get(m.id);
      if (!w) return;
      waiting.delete(m.id);
      if (waiting.size === 0) worker.unref();
      if (w.kind === 'probe') w.resolve(m.kind === 'probed' ? m.seen : { reachable: false, reason: `the SMTP thread for ${where} answered a probe with ${m.kind}` });
      else if (m.kind === 'sent') w.resolve(m.result);
      else if (m.kind === 'failed') w.reject(errorFromWire(m.error));
      else w.reject(new InternalError(`the SMTP thread for ${where} answered a message with ${m.kind}`));
    });
    return t;
  };

  /** The thread to take the next message (leastLoaded); a dead one is started again. */
  const pick = (): SmtpThread => {
    const live = slots.map((t, i) => (slots[i] = t ?? start(i)));
    return live[leastLoaded(live.map((t) => ({ inFlight: t.waiting.size, weight: t.weight })))]!;
  };

  const ask = (w: Waiting, request: (id: number) => ToThread): void => {
    const t = pick();
    const id = nextId++;
    if (t.waiting.size === 0) t.worker.ref();
    t.waiting.set(id, w);
    t.worker.postMessage(request(id));
  };

  // Started now, so a thread that cannot start is heard of before the first message is due.
  for (let i = 0; i < slots.length; i++) slots[i] = start(i);

  return {
    async send(mail: OutgoingMail): Promise<SendResult> {
      if (closed) throw new TransientSendError(`the SMTP sender for ${where} is closed`);
      return new Promise<SendResult>((resolve, reject) => ask({ kind: 'send', to: mail.to, resolve, reject }, (id) => ({ kind: 'send', id, mail })));
    },

    async probe(): Promise<TransportObservation> {
      if (closed) return { reachable: false, reason: `the SMTP sender for ${where} is closed` };
      return new Promise<TransportObservation>((resolve) => ask({ kind: 'probe', resolve }, (id) => ({ kind: 'probe', id })));
    },

    close(): Promise<void> {
      closed = true;
      closing ??= Promise.all(
        slots.map(async (t) => {
          if (!t) return;
          t.worker.ref();
          t.worker.postMessage({ kind: 'close' } satisfies ToThread);
          const grace = setTimeout(() => {
            t.terminated = true;
            void t.worker.terminate();
          }, closeGraceMs);
          await t.exited;
          clearTimeout(grace);
        }),
      ).then(() => undefined);
      return closing;
    },

    describe(): string {
      return where;
    },
  };
}
