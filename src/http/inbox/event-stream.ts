import type { ServerResponse } from 'node:http';
import type { Logger } from '../../logger.js';
import type { InboxQueueItem } from '../../queries/inbox-queue.js';
import { inboxTasksAfter, settledTaskId } from '../../queries/inbox-queue.js';
import type { InboxViewer } from '../../queries/inbox-viewer.js';
import type { ReadDb } from '../../queries/read-db.js';

/**
 * Server-sent events of the inbox: each open stream polls the read model about once a second for
 * tasks the user may see that it has not sent yet. Polling rather than Redis pub/sub: tasks are
 * written by many paths (the engine's workers, the CLI, other processes, a restore), and the
 * read model sees every one of them with the same visibility rule as the pages, with nothing to
 * publish and no message to lose while a stream reconnects (Last-Event-ID resumes it). The cost is
 * one indexed query per stream per second, and a second of latency at most.
 *
 * Memory is bounded: a stream holds its cursor and the ids it sent above it (at most the tasks
 * of the last few seconds, capped), and the number of streams per process and per user is capped.
 */

export interface StreamOptions {
  pollMs: number;
  /** Streams at once in this process, and per user (tabs, a phone). */
  maxStreams: number;
  maxPerUser: number;
  heartbeatMs: number;
  /** Whether the session is still good: checked every `recheckMs`, the stream ends once it is not. */
  stillValid: () => Promise<boolean>;
  recheckMs: number;
}

export const STREAM_DEFAULTS = { pollMs: 1_000, maxStreams: 500, maxPerUser: 5, heartbeatMs: 15_000, recheckMs: 30_000 };

const MAX_SENT = 2_000;
const PAGE = 50;

export class InboxStreams {
  private readonly open = new Set<InboxStream>();
  /** The settled task id, shared by every stream: it does not depend on the viewer, so one query a poll period, not one per stream. */
  private settledCache: { at: number; value: Promise<number> } | undefined;

  constructor(
    private readonly db: ReadDb,
    private readonly log: Logger,
  ) {}

  /** Why a new stream for this user cannot be opened now, or undefined. */
  refusal(email: string, o: Pick<StreamOptions, 'maxStreams' | 'maxPerUser'>): string | undefined {
    if (this.open.size >= o.maxStreams) return `this server holds ${o.maxStreams} live inbox streams already: try again shortly`;
    const mine = [...this.open].filter((s) => s.viewer.email === email).length;
    if (mine >= o.maxPerUser) return `you have ${mine} inbox tabs open live already: close one`;
    return undefined;
  }

  start(res: ServerResponse, viewer: InboxViewer, afterId: number, o: StreamOptions): void {
    const s = new InboxStream(this.db, this.log, res, viewer, afterId, o, () => this.settled(o.pollMs), () => this.open.delete(s));
    this.open.add(s);
    s.run();
  }

  private settled(maxAgeMs: number): Promise<number> {
    const now = Date.now();
    if (!this.settledCache || now - this.settledCache.at >= maxAgeMs) {
      const value = settledTaskId(this.db);
      // A failed read is not kept: the next poll asks again.
      value.catch(() => {
        if (this.settledCache?.value === value) this.settledCache = undefined;
      });
      this.settledCache = { at: now, value };
    }
    return this.settledCache.value;
  }

  /** Ends every stream (the server is closing): clients reconnect elsewhere with Last-Event-ID. */
  closeAll(): void {
    for (const s of [...this.open]) s.end();
  }
}

class InboxStream {
  private cursor: number;
  private readonly sent = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private ended = false;
  private lastCheck = Date.now();

  constructor(
    private readonly db: ReadDb,
    private readonly log: Logger,
    private readonly res: ServerResponse,
    readonly viewer: InboxViewer,
    afterId: number,
    private readonly o: StreamOptions,
    private readonly settledId: () => Promise<number>,
    private readonly onEnd: () => void,
  ) {
    this.cursor = afterId;
  }

  run(): void {
    this.res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // Proxies (nginx) would otherwise hold events back in a buffer.
      'x-accel-buffering': 'no',
    });
    this.res.write(`retry: 3000\n: inbox of ${this.viewer.email.replace(/[\r\n]/g, '')}\n\n`);
    this.res.on('close', () => this.end());
    this.heartbeat = setInterval(() => this.res.write(': keep-alive\n\n'), this.o.heartbeatMs);
    void this.poll();
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.timer);
    clearInterval(this.heartbeat);
    this.onEnd();
    if (!this.res.writableEnded) this.res.end();
  }

  private async poll(): Promise<void> {
    if (this.ended) return;
    try {
      if (Date.now() - this.lastCheck >= this.o.recheckMs) {
        this.lastCheck = Date.now();
        if (!(await this.o.stillValid())) {
          this.res.write('event: logged-out\ndata: {}\n\n');
          return this.end();
        }
      }
      const items = await inboxTasksAfter(this.db, this.viewer, this.cursor, PAGE, [...this.sent]);
      for (const t of items) this.send(t);
      // Move the cursor only past tasks no open transaction can still add to, so none is skipped;
      // after a full page, no further than its last task (those after it are not sent yet).
      let settled = await this.settledId();
      if (items.length === PAGE) settled = Math.min(settled, items[items.length - 1]!.id);
      if (settled > this.cursor) {
        this.cursor = settled;
        for (const id of this.sent) if (id <= settled) this.sent.delete(id);
      }
      if (this.sent.size > MAX_SENT) this.cursor = Math.max(this.cursor, Math.min(...this.sent));
    } catch (err) {
      this.log.warn({ err: (err as Error).message, user: this.viewer.email }, 'inbox event stream: poll failed; trying again');
    }
    if (!this.ended) this.timer = setTimeout(() => void this.poll(), this.o.pollMs);
  }

  private send(t: InboxQueueItem): void {
    this.sent.add(t.id);
    const data = JSON.stringify({ id: t.id, kind: t.kind, priority: t.priority, title: t.title, slaDueAt: t.slaDueAt, createdAt: t.createdAt });
    this.res.write(`id: ${t.id}\nevent: task\ndata: ${data}\n\n`);
  }
}
