import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dkimVerify } from 'mailauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestEngine } from '../support/engine.js';
import { TEST_TEMPLATES, eventually, startTestEngine, testConfig, writeTemplates } from '../support/engine.js';
import type { TestStore } from '../support/postgres.js';
import { createTestStore } from '../support/postgres.js';
import type { TestSmtp } from '../support/smtp.js';
import { startTestSmtp } from '../support/smtp.js';

const SEQUENCE = `
id: welcome-only
trigger: { event: opt_in }
steps:
  - email: welcome
`;

/** Mail signed with DKIM by the engine's SMTP sender, verified as a receiving server would (mailauth). */
describe('DKIM signing', () => {
  let store: TestStore;
  let smtp: TestSmtp;
  let templatesDir: string;
  let keyDir: string;
  let t: TestEngine;
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  // The TXT record the domain would publish at SELECTOR._domainkey.DOMAIN.
  const record = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;
  const resolver = async (name: string, rr: string): Promise<string[][]> => {
    if (rr === 'TXT' && name === 'nurture2026._domainkey.acme.test') return [[record]];
    throw Object.assign(new Error(`no ${rr} record for ${name}`), { code: 'ENOTFOUND' });
  };

  beforeAll(async () => {
    store = await createTestStore('postgres');
    smtp = await startTestSmtp();
    templatesDir = await writeTemplates({ ...TEST_TEMPLATES, welcome: '---\nsubject: Welcome\n---\n<p>Hi</p><p><a href="{{links.unsubscribe}}">Unsubscribe</a></p>\n' });
    keyDir = await mkdtemp(path.join(tmpdir(), 'nurture-dkim-'));
    await writeFile(path.join(keyDir, 'dkim.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const config = testConfig({
      SMTP_URL: smtp.url,
      NURTURE_FROM: 'Acme <news@acme.test>',
      NURTURE_DKIM_DOMAIN: 'acme.test',
      NURTURE_DKIM_SELECTOR: 'nurture2026',
      NURTURE_DKIM_KEY_FILE: path.join(keyDir, 'dkim.pem'),
    });
    t = await startTestEngine({ store, sequences: [SEQUENCE], templatesDir, config, http: true });
  });

  afterAll(async () => {
    await t?.stop();
    await smtp?.close();
    await store?.cleanup();
    await rm(templatesDir, { recursive: true, force: true });
    await rm(keyDir, { recursive: true, force: true });
  });

  it('signs every email, and the signature covers both unsubscribe headers', async () => {
    await t.emit({ type: 'opt_in', email: 'ann@example.com' });
    const mail = await eventually(async () => smtp.received.find((m) => m.to === 'ann@example.com'), 'the welcome email');

    const verified = await dkimVerify(mail.raw, { resolver });
    expect(verified.results).toHaveLength(1);
    const [result] = verified.results;
    expect(result!.signingDomain).toBe('acme.test');
    expect(result!.status.result).toBe('pass');
    const signed = /^DKIM-Signature:[\s\S]*?\bh=([^;]+);/im.exec(mail.raw)![1]!.replace(/\s+/g, '').toLowerCase().split(':');
    expect(signed).toEqual(expect.arrayContaining(['from', 'subject', 'list-unsubscribe', 'list-unsubscribe-post']));

    // A header changed on the way (a one-click URL swapped for another) breaks the signature.
    const tampered = mail.raw.replace(/(^List-Unsubscribe:[^<]*<[^>]*?)\/u\//m, '$1/x/');
    expect(tampered).not.toBe(mail.raw);
    const broken = await dkimVerify(tampered, { resolver });
    expect(broken.results[0]!.status.result).not.toBe('pass');
  });
});
