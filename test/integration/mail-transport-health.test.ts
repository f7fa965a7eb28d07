import { DateTime } from 'luxon';
import { computeStats } from '../../src/cli/stats.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { mailTransportHealth, recordServiceHealth, serviceHealth } from '../../src/db/service-health-repository.js';
import type { Logger } from '../../src/logger.js';
import { openMailTransport } from '../../src/workers/mail-transport.js';
import type { MailTransport } from '../../src/workers/mail-transport.js';
import { freePort } from '../support/net.js';
import { createTestStore } from '../support/postgres.js';
import type { TestStore } from '../support/postgres.js';
import { startTestSmtp } from '../support/smtp.js';
import type { TestSmtp } from '../support/smtp.js';

/**
 * The mail transport's state, as another process reads it: the engine's monitor writes it to
 * Postgres on a change, `mailTransportHealth(db)` reads it. Against a real SMTP server that stops
 * and starts again on the same port.
 */

function captureLog(): { log: Logger; lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (obj: unknown, msg?: string) => void lines.push({ level, msg: typeof obj === 'string' ? obj : (msg ?? '') });
  // Only the methods the transport calls; a pino Logger has these and more.
  const log = { warn: at('warn'), info: at('info'), error: at('error'), debug: at('debug') } as unknown as Logger;
  return { log, lines };
}

/** Bounded polling: the probe and the write run in the background. */
async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const mail = (messageId: string) => ({ from: 'Nurture <n@nurture.test>', to: 'ada@example.com', subject: 'Hi', html: '<p>Hi</p>', text: 'Hi', messageId });

describe('mail transport health in Postgres', () => {
  let store: TestStore;
  const open: MailTransport[] = [];
  const servers: TestSmtp[] = [];

  beforeAll(async () => {
    store = await createTestStore('postgres');
  });

  afterAll(async () => {
    for (const t of open) await t.close();
    for (const s of servers) await s.close();
    await store.cleanup();
  });

  it('is unknown before any engine reported, and keeps `since` while the state stays the same', async () => {
    expect(await serviceHealth(store.db, 'nothing-yet')).toEqual({ state: 'unknown' });
    const t0 = new Date('2026-12-01T10:00:00Z');
    const t1 = new Date('2026-12-01T10:00:30Z');
    await recordServiceHealth(store.db, 'x', { state: 'down', detail: 'a', since: t0, checkedAt: t0 });
    // another process, which saw it go down later, confirms it
    await recordServiceHealth(store.db, 'x', { state: 'down', detail: 'b', since: t1, checkedAt: t1 });
    expect(await serviceHealth(store.db, 'x')).toEqual({ state: 'down', detail: 'b', since: t0, checkedAt: t1 });
    await recordServiceHealth(store.db, 'x', { state: 'up', detail: 'c', since: t1, checkedAt: t1 });
    expect(await serviceHealth(store.db, 'x')).toMatchObject({ state: 'up', since: t1 });
  });

  it('records down at start for a port with nothing listening, with one warning', async () => {
    await store.db.deleteFrom('service_health').execute();
    const { log, lines } = captureLog();
    const url = `smtp://127.0.0.1:${await freePort()}`;
    const t = openMailTransport({ config: loadConfig({ SMTP_URL: url }), db: store.db, log, probeEveryMs: 100 });
    open.push(t);
    const h = await until(() => mailTransportHealth(store.db), (v) => v.state === 'down', 'down');
    expect(h).toMatchObject({ state: 'down', detail: expect.stringContaining('ECONNREFUSED') });
    // ... and nurture stats, in another process, says so.
    const shown = await computeStats(store.db, { now: DateTime.utc(), zone: 'UTC' });
    expect(shown.data.mail).toMatchObject({ state: 'down', detail: expect.stringContaining('ECONNREFUSED') });
    expect(shown.text).toMatch(/^Mail server\s+DOWN since \d{4}-\d\d-\d\d \d\d:\d\d UTC, last confirmed .*ECONNREFUSED/m);
    // probes every 100 ms for a while: still one warning (the repeat comes after a minute)
    await new Promise((r) => setTimeout(r, 500));
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([expect.stringMatching(/^mail server unreachable: SMTP smtp:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/)]);
    await t.close();
    open.pop();
  });

  it('follows the real server going down and coming back, without a send to notice it', async () => {
    await store.db.deleteFrom('service_health').execute();
    const server = await startTestSmtp({ server: { closeTimeout: 200 } });
    const port = Number(new URL(server.url).port);
    const { log, lines } = captureLog();
    const t = openMailTransport({ config: loadConfig({ SMTP_URL: server.url }), db: store.db, log, probeEveryMs: 100 });
    open.push(t);
    const up = await until(() => mailTransportHealth(store.db), (v) => v.state === 'up', 'up at start');
    expect(up).toMatchObject({ detail: server.url.replace('smtp://', 'SMTP smtp://') });

    await server.close();
    await expect(t.mail.send(mail('during@nurture.test'))).rejects.toThrow(/is the SMTP server running/);
    const down = await until(() => mailTransportHealth(store.db), (v) => v.state === 'down', 'down');
    expect(down).toMatchObject({ detail: expect.stringContaining('ECONNREFUSED') });

    const again = await startTestSmtp({ port, server: { closeTimeout: 200 } });
    servers.push(again);
    // the probe sees it come back: no email was due
    await until(() => mailTransportHealth(store.db), (v) => v.state === 'up', 'up again');
    expect(lines.map((l) => `${l.level} ${l.msg.replace(/\d+ s\)$/, 'N s)')}`)).toEqual([
      expect.stringMatching(/^warn mail server unreachable: /),
      `info mail server reachable again: SMTP smtp://127.0.0.1:${port} (was down for N s)`,
    ]);
    await t.mail.send(mail('after@nurture.test'));
    expect(again.received.map((m) => m.messageId)).toEqual(['after@nurture.test']);
  });
});
