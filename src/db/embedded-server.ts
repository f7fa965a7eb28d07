import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { ConfigError } from '../errors.js';
import type { Store } from './database.js';
import { sessionLease } from './pglite-dialect.js';
import type { AsyncMutex } from './pglite-dialect.js';

/**
 * Serves the embedded store (PGlite, in the engine's process) to other nurture processes over a
 * unix socket, `${dataDir}/.s.PGSQL.5432`, so `pg` reaches it with host = dataDir, port = 5432.
 * `${dataDir}/embedded.json` tells them where (database.ts reads it when the store is locked).
 *
 * pglite-socket multiplexes clients onto the one PGlite session, but its own queue only keeps a
 * client's statements together while `isInTransaction()` is true: an extended-protocol exchange
 * (Parse/Bind/Execute/Sync) from a client can interleave with the engine's queries, socket
 * messages only take PGlite's query mutex (not the transaction mutex an in-process transaction
 * holds), and a queued client can hang for good when another holder is in a transaction
 * (pglite#985, pglite#1046). So the server runs with a replacement queue, SessionArbiter: a
 * client takes the same session lease as the engine's Kysely driver (pglite-dialect.ts) with its
 * first message and keeps it until the session is idle again (after Sync or a simple Query,
 * outside a transaction block). The engine therefore waits at most for one client round trip, or
 * for a client transaction; a client idle inside a transaction is disconnected after
 * `idleTimeoutMs` (its transaction rolled back), so a stuck CLI cannot stall the engine for long.
 */

export const EMBEDDED_PORT = 5432;
export const EMBEDDED_INFO_FILE = 'embedded.json';

export interface EmbeddedInfo {
  pid: number;
  /** Absolute directory holding the socket: `pg`'s `host`. */
  host: string;
  port: number;
}

export interface EmbeddedServer {
  /** A connection string for psql and friends (libpq form, socket directory in `host=`). */
  url: string;
  close(): Promise<void>;
}

export interface EmbeddedServerOptions {
  /** Clients connected at once (default 16). */
  maxConnections?: number;
  /** A client silent this long is disconnected; rolls back a transaction it left open (default 30 s). */
  idleTimeoutMs?: number;
}

export function embeddedSocketPath(dataDir: string): string {
  return path.join(path.resolve(dataDir), `.s.PGSQL.${EMBEDDED_PORT}`);
}

/** What embedded.json says, or null when there is none (or it is unreadable). */
export async function readEmbeddedInfo(dataDir: string): Promise<EmbeddedInfo | null> {
  try {
    const raw: unknown = JSON.parse(await readFile(path.join(dataDir, EMBEDDED_INFO_FILE), 'utf8'));
    if (typeof raw !== 'object' || raw === null) return null;
    const { pid, host, port } = raw as Record<string, unknown>;
    if (typeof pid !== 'number' || typeof host !== 'string' || typeof port !== 'number') return null;
    return { pid, host, port };
  } catch {
    return null;
  }
}

const running = new WeakMap<PGlite, EmbeddedServer>();

/** Stops the server serving this PGlite, if any (database.ts calls it before closing PGlite). */
export async function stopEmbeddedServerFor(pglite: PGlite): Promise<void> {
  await running.get(pglite)?.close();
}

// Longest unix socket path (sun_path is 108 bytes on Linux, 104 on macOS, with the NUL).
const MAX_SOCKET_PATH = process.platform === 'linux' ? 107 : 103;

export async function startEmbeddedServer(
  store: Store & { pglite: PGlite },
  dataDir: string,
  opts: EmbeddedServerOptions = {},
): Promise<EmbeddedServer> {
  const { pglite } = store;
  if (running.has(pglite)) throw new ConfigError('the embedded server is already running for this store');
  const host = path.resolve(dataDir);
  const socketPath = embeddedSocketPath(host);
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    throw new ConfigError(
      `${socketPath}: the path of the embedded store's socket is too long for a unix socket ` +
        `(${Buffer.byteLength(socketPath)} > ${MAX_SOCKET_PATH} bytes): use a shorter data directory`,
    );
  }
  const infoPath = path.join(host, EMBEDDED_INFO_FILE);

  // We hold the store's lock (database.ts), so a socket or embedded.json left here is stale.
  await rm(socketPath, { force: true });

  const arbiter = new SessionArbiter(pglite, sessionLease(pglite));
  const server = new PGLiteSocketServer({
    db: pglite,
    path: socketPath,
    maxConnections: opts.maxConnections ?? 16,
    idleTimeout: opts.idleTimeoutMs ?? 30_000,
  });
  // Swap in the arbiter (see the header). Checked, so a pglite-socket that renames it fails loudly.
  const internals = server as unknown as { queryQueue?: unknown };
  if (!internals.queryQueue) {
    throw new Error('@electric-sql/pglite-socket changed its internals (no queryQueue): check embedded-server.ts');
  }
  internals.queryQueue = arbiter;
  server.addEventListener('error', () => {
    // Per-client errors (a client vanishing) are handled by the handler; nothing to do here.
  });

  await server.start();

  const info: EmbeddedInfo = { pid: process.pid, host, port: EMBEDDED_PORT };
  const tmp = `${infoPath}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, `${JSON.stringify(info)}\n`);
  await rename(tmp, infoPath);

  let closing: Promise<void> | undefined;
  const handle: EmbeddedServer = {
    url: `postgresql://postgres@/postgres?host=${encodeURIComponent(host)}&port=${EMBEDDED_PORT}`,
    close() {
      closing ??= (async () => {
        const current = await readEmbeddedInfo(host);
        if (current?.pid === process.pid) await rm(infoPath, { force: true });
        await server.stop();
        await arbiter.close();
        await rm(socketPath, { force: true });
        running.delete(pglite);
      })();
      return closing;
    },
  };
  running.set(pglite, handle);
  return handle;
}

interface Queued {
  handlerId: number;
  message: Uint8Array;
  onData: (data: Uint8Array) => void;
  resolve: (bytes: number) => void;
  reject: (error: Error) => void;
}

const SYNC_MESSAGE = new Uint8Array([0x53, 0, 0, 0, 4]); // 'S', length 4
const TYPE_SYNC = 0x53;
const TYPE_QUERY = 0x51;
const TYPE_TERMINATE = 0x58;

/**
 * Drop-in for pglite-socket's QueryQueueManager (same four methods the handler and server call):
 * runs client messages one at a time on PGlite while holding the session lease, and keeps the
 * lease for one client until its session is idle again.
 */
class SessionArbiter {
  readonly #pglite: PGlite;
  readonly #lease: AsyncMutex;
  #queue: Queued[] = [];
  /** The client holding the lease, if any. */
  #owner: number | null = null;
  /** Clients that disconnected (handler ids are never reused). */
  readonly #gone = new Set<number>();
  #active = false;
  #running: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(pglite: PGlite, lease: AsyncMutex) {
    this.#pglite = pglite;
    this.#lease = lease;
  }

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.#closed) return reject(new Error('embedded server is closing'));
      this.#queue.push({ handlerId, message, onData, resolve, reject });
      this.#pump();
    });
  }

  getQueueLength(): number {
    return this.#queue.length;
  }

  clearQueueForHandler(handlerId: number): void {
    this.#gone.add(handlerId);
    this.#rejectWhere((q) => q.handlerId === handlerId, 'Handler disconnected');
    this.#pump();
  }

  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    this.#gone.add(handlerId);
    this.#pump();
    await this.#running;
  }

  /** Rejects what is queued, waits for the message running, resets the session and releases it. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#rejectWhere(() => true, 'embedded server is closing');
    if (this.#owner !== null) this.#gone.add(this.#owner);
    this.#pump();
    await this.#running;
  }

  #rejectWhere(match: (q: Queued) => boolean, reason: string): void {
    const keep: Queued[] = [];
    for (const q of this.#queue) {
      if (match(q)) q.reject(new Error(reason));
      else keep.push(q);
    }
    this.#queue = keep;
  }

  #pump(): void {
    if (this.#active) return;
    this.#active = true;
    this.#running = this.#drain();
  }

  async #drain(): Promise<void> {
    // `#active` drops in the same tick as the decision that nothing is left (a `return` runs the
    // `finally` at once), so an enqueue never finds a pump that is about to stop.
    try {
      for (;;) {
        if (this.#owner !== null && this.#gone.has(this.#owner)) {
          await this.#resetSession();
          this.#release();
          continue;
        }
        const index = this.#owner === null ? 0 : this.#queue.findIndex((q) => q.handlerId === this.#owner);
        const item = index >= 0 ? this.#queue[index] : undefined;
        if (!item) return; // nothing queued, or the owner is between messages of its transaction
        this.#queue.splice(index, 1);
        if (this.#gone.has(item.handlerId)) {
          item.reject(new Error('Handler disconnected'));
          continue;
        }
        if (this.#owner === null) {
          await this.#lease.lock();
          this.#owner = item.handlerId;
          if (this.#gone.has(item.handlerId)) {
            item.reject(new Error('Handler disconnected'));
            continue; // the top of the loop resets and releases
          }
        }
        let bytes = 0;
        try {
          await this.#pglite.runExclusive(() =>
            this.#pglite.execProtocolRawStream(item.message, {
              onRawData: (data) => {
                bytes += data.length;
                item.onData(data);
              },
            }),
          );
        } catch (error) {
          // A failure inside PGlite itself (not an SQL error, which goes to the client): drop the client.
          this.#gone.add(item.handlerId);
          item.reject(error instanceof Error ? error : new Error(String(error)));
          continue;
        }
        item.resolve(bytes);
        if (endsRoundTrip(item.message) && !this.#pglite.isInTransaction()) this.#release();
      }
    } finally {
      this.#active = false;
    }
  }

  /** After a client left mid-exchange: end its extended-protocol exchange and any transaction. */
  async #resetSession(): Promise<void> {
    if (this.#pglite.closed) return;
    try {
      await this.#pglite.runExclusive(() =>
        this.#pglite.execProtocolRawStream(SYNC_MESSAGE, { onRawData: () => {} }),
      );
      if (this.#pglite.isInTransaction()) await this.#pglite.exec('ROLLBACK');
    } catch {
      // Nothing more to do: the next holder finds out if the session is unusable.
    }
  }

  #release(): void {
    this.#owner = null;
    this.#lease.unlock();
  }
}

/** Startup packet, Sync, simple Query, Terminate: after these the backend says ReadyForQuery. */
function endsRoundTrip(message: Uint8Array): boolean {
  const type = message[0];
  return type === 0 || type === TYPE_SYNC || type === TYPE_QUERY || type === TYPE_TERMINATE;
}
