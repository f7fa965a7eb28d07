/**
 * One thread of threaded-smtp-sender.ts: its share of the SMTP pool, sending what the parent
 * posts. Composing MIME, DKIM signing and the socket writes run here, off the engine's event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createSmtpSender } from './smtp-sender.js';
import { errorToWire } from './smtp-thread-protocol.js';
import type { FromThread, SmtpThreadData, ToThread } from './smtp-thread-protocol.js';

const port = parentPort;
if (!port) throw new Error('smtp-thread.ts runs as a worker thread of threaded-smtp-sender.ts');
const data = workerData as SmtpThreadData;
const tell = (m: FromThread): void => port.postMessage(m);

const sender = createSmtpSender(data.smtpUrl, {
  maxConnections: data.maxConnections,
  ratePerSecond: data.ratePerSecond,
  dkim: data.dkim,
  onTransport: (seen) => tell({ kind: 'transport', seen }),
});
const inFlight = new Set<Promise<void>>();
const track = (work: Promise<void>): void => {
  inFlight.add(work);
  void work.finally(() => inFlight.delete(work));
};

port.on('message', (m: ToThread) => {
  if (m.kind === 'send') {
    track(
      sender.send(m.mail).then(
        (result) => tell({ kind: 'sent', id: m.id, result }),
        (err: unknown) => tell({ kind: 'failed', id: m.id, error: errorToWire(err) }),
      ),
    );
  } else if (m.kind === 'probe') {
    track(
      sender.probe!().then(
        (seen) => tell({ kind: 'probed', id: m.id, seen }),
        (err: unknown) => tell({ kind: 'probed', id: m.id, seen: { reachable: false, reason: errorToWire(err).message } }),
      ),
    );
  } else {
    // The messages under way finish as they would in one thread (nodemailer's pool lets them),
    // and their answers must reach the parent before the port closes: a message taken by the
    // server but reported lost would be sent twice.
    void sender
      .close()
      .then(() => Promise.allSettled([...inFlight]))
      .then(() => port.close());
  }
});
tell({ kind: 'ready' });
