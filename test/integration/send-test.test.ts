import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DateTime } from 'luxon';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderTemplate, sendTestMessage } from '../../src/app/render-template.js';
import { TemplateError } from '../../src/errors.js';
import { eventually, testConfig } from '../support/engine.js';
import type { TestSmtp } from '../support/smtp.js';
import { startTestSmtp } from '../support/smtp.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const templatesDir = path.join(ROOT, 'examples/templates');
const NOW = DateTime.fromISO('2026-12-02T15:00:00Z', { zone: 'utc' });

/** `nurture render` and `nurture send-test` over the example templates, sent to a real SMTP server. */
describe('render and send-test', () => {
  let smtp: TestSmtp;
  beforeAll(async () => {
    smtp = await startTestSmtp();
  });
  afterAll(async () => {
    await smtp?.close();
  });

  const config = () => testConfig({ NURTURE_FROM: 'Example Co. <hello@example.com>', NURTURE_PUBLIC_URL: 'https://nurture.example.com' });

  it('renders an example template in the brand layout, for a contact given as JSON', async () => {
    const r = await renderTemplate({ templatesDir, name: 'monthly-value', contact: { email: 'Zed@Example.com', firstName: 'Zed', timezone: 'Pacific/Auckland' }, config: config(), now: NOW });
    expect(r.to).toBe('zed@example.com');
    expect(r.problems).toEqual([]);
    expect(r.message.subject).toBe('This month: one idea worth your time');
    // 15:00 UTC on 2 December is 4 am on 3 December in Auckland: still December.
    expect(r.message.html).toContain('<p>Hi Zed, here is your note for December 2026.</p>');
    expect(r.message.html).toContain('<p>Talk soon,<br>Example Co.</p>');
    expect(r.message.html).toContain('<a href="https://nurture.example.com/u/test">unsubscribe</a>');
    expect(r.message.text).toContain('Hi Zed, here is your note for December 2026.');
  });

  it('refuses a contact file that is not a contact, naming the field', async () => {
    await expect(renderTemplate({ templatesDir, name: 'welcome', contact: { email: 'nope' }, contactName: 'zed.json', config: config(), now: NOW })).rejects.toThrow(
      'zed.json: email: is not an email address',
    );
  });

  it('refuses a template nurture validate refuses, naming its file and line', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'nurture-render-'));
    await writeFile(path.join(dir, 'typo.hbs'), '---\nsubject: Hi\n---\n<p>{{contact.frstName}}</p>\n');
    const err = await renderTemplate({ templatesDir: dir, name: 'typo', config: config(), now: NOW }).catch((e: unknown) => e);
    await rm(dir, { recursive: true, force: true });
    expect(err).toBeInstanceOf(TemplateError);
    expect((err as TemplateError).problems).toEqual([expect.objectContaining({ file: path.join(dir, 'typo.hbs'), line: 4, message: expect.stringContaining('did you mean {{contact.firstName}}') })]);
  });

  it('sends the rendered message through SMTP, with both parts', async () => {
    const r = await sendTestMessage({ templatesDir, name: 'welcome', to: 'me@example.com', config: { ...config(), smtpUrl: smtp.url }, now: NOW });
    expect(r.sent.accepted).toBe(true);
    const got = await eventually(async () => smtp.received.find((m) => m.to === 'me@example.com'), 'the test message');
    const mail = await simpleParser(got.raw);
    expect(mail.subject).toBe('Welcome, Ann: your guide is on its way');
    expect(mail.from?.text).toBe('"Example Co." <hello@example.com>');
    expect(String(mail.html)).toContain('Example Co.</p>');
    expect(mail.text).toContain('Thanks for downloading our guide.');
    expect(mail.text).toContain('Unsubscribe: https://nurture.example.com/u/test');
  });
});
