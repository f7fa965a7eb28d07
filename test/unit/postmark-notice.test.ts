import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { postmarkPayloadSchema, readPostmark } from '../../src/http/postmark-notice.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/postmark');
const NOW = '2026-12-02T10:00:00.000Z';
const read = (raw: string) => readPostmark(postmarkPayloadSchema.parse(JSON.parse(raw)), raw, NOW);

describe("Postmark's webhooks as delivery notices", () => {
  it("reads the documented bounce sample as a hard bounce, keeping the ID's every digit", () => {
    const raw = readFileSync(path.join(FIXTURES, 'bounce.json'), 'utf8');
    expect(read(raw)).toEqual({
      kind: 'notice',
      notice: {
        kind: 'bounce',
        bounceType: 'hard',
        source: 'postmark',
        noticeId: 'Bounce-4323372036854775807',
        reason: 'HardBounce: The server was unable to deliver your message (ex: unknown user, mailbox not found).: Test bounce details',
        occurredAt: '2019-11-05T16:33:54.907Z',
        email: 'john@example.com',
      },
    });
  });

  it('reads the documented spam-complaint sample as a complaint', () => {
    const raw = readFileSync(path.join(FIXTURES, 'spam-complaint.json'), 'utf8');
    expect(read(raw)).toMatchObject({ kind: 'notice', notice: { kind: 'complaint', noticeId: 'SpamComplaint-42', email: 'john@example.com' } });
  });

  it('records every other bounce type as soft, and leaves other record types alone', () => {
    for (const type of ['SoftBounce', 'Transient', 'DnsError', 'Blocked', 'SpamNotification', 'AutoResponder', 'Unknown']) {
      expect(read(JSON.stringify({ RecordType: 'Bounce', ID: 7, Type: type, Email: 'a@example.com' }))).toMatchObject({ notice: { kind: 'bounce', bounceType: 'soft' } });
    }
    for (const type of ['HardBounce', 'BadEmailAddress', 'ManuallyDeactivated']) {
      expect(read(JSON.stringify({ RecordType: 'Bounce', ID: 7, Type: type, Email: 'a@example.com' }))).toMatchObject({ notice: { bounceType: 'hard' } });
    }
    expect(read(JSON.stringify({ RecordType: 'Bounce', ID: 7, Type: 'SpamComplaint', Email: 'a@example.com' }))).toMatchObject({ notice: { kind: 'complaint' } });
    expect(read(JSON.stringify({ RecordType: 'Open', MessageID: 'x' }))).toEqual({ kind: 'ignored', recordType: 'Open' });
  });

  it('keys a record without an ID by its body, and dates one without BouncedAt now', () => {
    const r = read(JSON.stringify({ RecordType: 'Bounce', Type: 'HardBounce', Email: 'A@Example.com' }));
    expect(r).toMatchObject({ notice: { email: 'a@example.com', occurredAt: NOW } });
    expect(r.kind === 'notice' && r.notice.noticeId).toMatch(/^Bounce-sha256-[0-9a-f]{64}$/);
  });
});
